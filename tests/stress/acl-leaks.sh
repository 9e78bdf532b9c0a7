#!/usr/bin/env bash
# Long form of the ACL leak search: 10,000 random queries through a real Parse Server.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash scripts/setup.sh
ACL_LEAK_QUERIES=${ACL_LEAK_QUERIES:-10000} node --test --test-timeout=3600000 __test__/acl-leaks.test.js
