# Sourced by scripts/test.sh and bench/run.sh: `start_dynoxide` starts the dynoxide server from
# the npm package on a free 127.0.0.1 port, waits for it, stops it when the calling script
# exits, and exports DYNAMODB_ENDPOINT (with DYNAMO_RULES=1, the endpoint of DynamoDB's rules
# in front of it).
start_dynoxide() {
  local bin="node_modules/@dynoxide/linux-x64/dynoxide" port pid
  port=$(node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
  "$bin" serve --host 127.0.0.1 --port "$port" >/dev/null 2>&1 &
  pid=$!
  trap "kill $pid 2>/dev/null || true" EXIT
  for _ in $(seq 1 100); do (echo > "/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.05; done
  export DYNAMODB_ENDPOINT="http://127.0.0.1:$port"
  if [ "${DYNAMO_RULES:-}" = 1 ]; then
    # DynamoDB's rules in front of it (scripts/dynamo-rules.js): refusals go to $DYNAMO_RULES_LOG.
    local out rules_pid
    out=$(mktemp)
    node scripts/dynamo-rules.js --target "$DYNAMODB_ENDPOINT" > "$out" &
    rules_pid=$!
    trap "kill $pid $rules_pid 2>/dev/null || true" EXIT
    for _ in $(seq 1 100); do [ -s "$out" ] && break; sleep 0.05; done
    export DYNAMODB_ENDPOINT="$(head -1 "$out")"
    rm -f "$out"
  fi
}
