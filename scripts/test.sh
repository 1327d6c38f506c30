#!/usr/bin/env bash
# The whole suite, services included: typecheck, lint, then vitest against real FerretDB (or
# MONGODB_URI), Redis and Docker brought up by scripts/services.sh. Ends with one summary line.
set -uo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci --no-audit --no-fund || exit 1

echo "== typecheck"; npx tsc -p tsconfig.json --noEmit || exit 1
echo "== lint"; npx biome check . || exit 1

echo "== services"
exports="$(bash scripts/services.sh up)" || exit 1
eval "$exports"
echo "$exports" | sed -E "s#(://[^:/@]*:)[^@]*@#\1[redacted]@#"
# The sandbox image (debootstrap + docker import, no registry): about a minute once, then ~0.1 s.
[ "${DECKHAND_SKIP_DOCKER:-}" = 1 ] || bash scripts/sandbox-image.sh >/dev/null || exit 1

echo "== tests"
mkdir -p .deckhand
npx vitest run --reporter=default --reporter=json --outputFile=.deckhand/vitest.json "$@"
rc=$?
node -e '
  const r = JSON.parse(require("fs").readFileSync(".deckhand/vitest.json", "utf8"));
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
' 2>/dev/null || echo "tests: 0 passed, 1 failed"
exit $rc
