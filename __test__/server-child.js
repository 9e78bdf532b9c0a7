// A Parse Server in its own process on a given table (a second server behind a load balancer,
// with its own schema cache): argv are the DynamoDB endpoint, the table and startStack's
// options as JSON. Sends {serverURL} when it listens; stops on the message 'stop'.
'use strict';
const { startStack } = require('./helpers');

async function main() {
  const [endpoint, table, options] = process.argv.slice(2);
  const s = await startStack(JSON.parse(options), { dynamo: { endpoint }, table });
  process.on('message', async m => {
    if (m === 'stop') {
      await s.stop();
      process.exit(0);
    }
  });
  process.send({ serverURL: s.serverURL, liveQueryURL: s.liveQueryURL, appId: s.appId });
}

main().catch(e => {
  console.error(e);
  process.exit(1);
});
