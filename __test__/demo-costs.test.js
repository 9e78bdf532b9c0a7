// The demo page on `npm start`, in a real headless Chromium (@sparticuz/chromium through
// puppeteer-core): each query it runs shows the read units it cost and the plan the adapter
// chose (from its response's Server-Timing header), and the page lists the indexes the adapter
// built by itself. With 1,000 scores, the range query reads the whole class until the adapter
// has built the index on `score`, then only about its answer. Screenshots go to a temporary
// folder (its path is printed).
'use strict';
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const chromium = require('@sparticuz/chromium').default || require('@sparticuz/chromium');
const puppeteer = require('puppeteer-core');
const { startDemo } = require('./helpers');

test('the demo page shows each query’s units and plan, and the indexes the adapter built', { timeout: 300_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'psd-demo-costs-'));
  const demo = await startDemo(dir);
  let browser;
  try {
    browser = await puppeteer.launch({ executablePath: await chromium.executablePath(), args: chromium.args, headless: true });
    const page = await browser.newPage();
    await page.setViewport({ width: 1300, height: 1000 });
    const errors = [];
    page.on('pageerror', e => errors.push(e.message));
    await page.goto(`http://localhost:${demo.port}/`);
    const settled = () =>
      page.waitForFunction(() => document.getElementById('status').textContent === '' && document.querySelectorAll('#queries tbody tr').length === 4, { timeout: 120_000 });
    const rows = () => page.$$eval('#queries tbody tr', trs => trs.map(tr => [...tr.cells].map(c => c.textContent)));
    const click = async id => {
      await page.click(id);
      await page.waitForFunction(() => document.getElementById('status').textContent !== '', { timeout: 5000 }).catch(() => {});
      await settled();
    };
    let step = 0;
    const shot = name => page.screenshot({ path: path.join(dir, `${String(++step).padStart(2, '0')}-${name}.png`) });
    await settled();
    await shot('first');
    for (const [, , units] of await rows()) assert.match(units, /^\d+(\.\d+)? read units$/);

    await click('#many');
    await click('#many');
    const before = await rows();
    await shot('1000-scores');
    const range = r => r.find(x => x[0].startsWith('score ≥ 995'));
    const units = r => Number(r[2].split(' ')[0]);
    assert.match(range(before)[3], /find GameScore: read the whole class/);
    assert.ok(units(range(before)) > 30, `the whole class: ${range(before)[2]}`);
    // The count reads the class too: Parse adds the read ACL to a client's count.
    assert.equal(before.find(x => x[0].startsWith('count'))[1], '1000');

    // Run again until the adapter has built the index the range wants (in the background).
    let after = before;
    for (let i = 0; i < 30 && !/via index score/.test(range(after)[3]); i++) {
      await new Promise(r => setTimeout(r, 1000));
      await click('#run');
      after = await rows();
    }
    await shot('indexed');
    assert.match(range(after)[3], /find GameScore: via index score/);
    assert.ok(units(range(after)) < 15, `about its answer: ${range(after)[2]}`);
    const listed = await page.$eval('#indexes', e => e.textContent);
    assert.match(listed, /GameScore \{"score":1\}/);
    assert.deepEqual(errors, []);
    process.stdout.write(`# screenshots: ${dir}\n`);
  } finally {
    if (browser) await browser.close();
    await demo.stop();
  }
});
