#!/usr/bin/env bash
# The whole suite, services included: typecheck, lint, then vitest against real FerretDB (or
# MONGODB_URI), Redis and Docker brought up by scripts/services.sh. Ends with one summary line.
set -uo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci --no-audit --no-fund || exit 1

echo "== typecheck"; npx tsc -p tsconfig.json --noEmit || exit 1
echo "== lint"; npx biome check . || exit 1

mkdir -p .deckhand
echo "== services"
exports="$(bash scripts/services.sh up)" || exit 1
eval "$exports"
echo "$exports" | sed -E "s#(://[^:/@]*:)[^@]*@#\1[redacted]@#"
# The sandbox image (debootstrap + docker import, no registry): about a minute once, then ~0.1 s.
[ "${DECKHAND_SKIP_DOCKER:-}" = 1 ] || bash scripts/sandbox-image.sh >/dev/null || exit 1

# Headless Chromium for the admin page test (Debian's package; the test skips, saying why, without it).
if ! [ -x /usr/bin/chromium ]; then
  echo "== installing Debian's chromium"
  if [ "$(id -u)" = 0 ]; then apt_get=(apt-get); else apt_get=(sudo -n apt-get); fi
  DEBIAN_FRONTEND=noninteractive "${apt_get[@]}" install -y chromium >.deckhand/apt-chromium.log 2>&1 \
    || echo "chromium could not be installed (see .deckhand/apt-chromium.log); the admin browser test will skip"
fi

# Compose, for `docker compose config` on deploy/docker-compose.yml (Debian's docker-compose when
# neither the plugin nor the standalone command is there; the test skips, saying why, without it).
if ! docker compose version >/dev/null 2>&1 && ! command -v docker-compose >/dev/null; then
  echo "== installing Debian's docker-compose"
  if [ "$(id -u)" = 0 ]; then apt_get=(apt-get); else apt_get=(sudo -n apt-get); fi
  DEBIAN_FRONTEND=noninteractive "${apt_get[@]}" install -y docker-compose >.deckhand/apt-compose.log 2>&1 \
    || echo "docker-compose could not be installed (see .deckhand/apt-compose.log); the compose test will skip"
fi

echo "== tests"
mkdir -p .deckhand
# Both vitest projects, each file once: `unit` (no services) and `integration` (see vitest.config.ts).
npx vitest run --reporter=default --reporter=json --outputFile=.deckhand/vitest.json "$@"
rc=$?
node -e '
  const r = JSON.parse(require("fs").readFileSync(".deckhand/vitest.json", "utf8"));
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
' 2>/dev/null || echo "tests: 0 passed, 1 failed"
exit $rc
