#!/usr/bin/env bash
# Real services for tests and local runs: a MongoDB-compatible server, Redis and a Docker engine.
#   scripts/services.sh up [mongo] [redis] [docker]
#                              start what is missing, print `export NAME=value` lines (eval-able)
#   scripts/services.sh env    print the export lines for services that are already up
#   scripts/services.sh down   stop what this script started
# FERRETDB_DEBUG_ADDR=127.0.0.1:8089 exposes FerretDB's /debug/metrics (per-command counters) for profiling.
# Idempotent: a second `up` reuses running services. Progress goes to stderr; stdout is only exports.
# Honours MONGODB_URI, REDIS_URL and DOCKER_HOST when they are already set (nothing is started for them).
set -euo pipefail

FERRETDB_VERSION="v1.24.2"
CACHE_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/deckhand"
STATE_DIR="${DECKHAND_STATE_DIR:-${XDG_STATE_HOME:-$HOME/.local/state}/deckhand/services}"
BIN_DIR="$CACHE_DIR/bin"
# The name changes with the local fix below, so a binary built without it is not reused.
FERRETDB_BIN="$BIN_DIR/ferretdb-$FERRETDB_VERSION-idindex"
mkdir -p "$STATE_DIR" "$BIN_DIR"

say() { echo "services: $*" >&2; }
fail() { echo "services: FAILED: $*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo -n "$@"; else return 1; fi
}

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

wait_port() { # port seconds name logfile
  for _ in $(seq 1 $(($2 * 10))); do port_open "$1" && return 0; sleep 0.1; done
  fail "$3 did not open 127.0.0.1:$1 within $2s; last log lines:
$(tail -n 20 "$4" 2>/dev/null)"
}

# ---------- MongoDB-compatible server (FerretDB, SQLite handler) ----------
build_ferretdb() {
  [ -x "$FERRETDB_BIN" ] && "$FERRETDB_BIN" --version >/dev/null 2>&1 && return 0
  command -v go >/dev/null || fail "FerretDB: Go is not installed (needed once to build FerretDB $FERRETDB_VERSION); install Go or set MONGODB_URI"
  say "building FerretDB $FERRETDB_VERSION once into $BIN_DIR (about a minute)"
  local tmp log dir
  tmp="$(mktemp -d)"; log="$STATE_DIR/ferretdb-build.log"
  # Two quirks of the module as served: a plain `go install ...@v1.24.2` asks the proxy for the version
  # list (refused by some proxies), and the module zip lacks build/version/version.txt, so the binary
  # panics at start. Download the exact version, copy it, write version.txt, build from the copy.
  if ! dir="$(cd "$tmp" && go mod download -json "github.com/FerretDB/FerretDB@$FERRETDB_VERSION" 2>>"$log" \
      | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')" || [ -z "$dir" ]; then
    rm -rf "$tmp"; fail "FerretDB: go mod download failed, see $log:
$(tail -n 15 "$log")"
  fi
  cp -r "$dir" "$tmp/src" && chmod -R u+w "$tmp/src"
  echo "$FERRETDB_VERSION" >"$tmp/src/build/version/version.txt"
  # A fix to the SQLite backend: it filters on `_ferretdb_sjson->'$._id'` while its unique index is on
  # `_ferretdb_sjson->"_id"`. SQLite uses an index only for the same expression, so every find, update
  # and delete by _id scanned the whole table (49 ms a lookup at 10,000 documents here, against
  # ~0.5 ms with the index). `->'_id'` reads the same value and matches the index.
  local meta="$tmp/src/internal/backends/sqlite/metadata/metadata.go"
  sed -i "s|IDColumn = DefaultColumn + \"->'\\\$._id'\"|IDColumn = DefaultColumn + \"->'_id'\"|" "$meta"
  if ! grep -q "IDColumn = DefaultColumn + \"->'_id'\"" "$meta"; then
    rm -rf "$tmp"; fail "FerretDB: could not apply the _id index fix to $meta (has the file changed?)"
  fi
  if ! (cd "$tmp/src" && go build -trimpath -o "$FERRETDB_BIN" ./cmd/ferretdb) >>"$log" 2>&1; then
    rm -rf "$tmp"; fail "FerretDB: build failed, see $log:
$(tail -n 15 "$log")"
  fi
  rm -rf "$tmp"
}

mongo_up() {
  if [ -n "${MONGODB_URI:-}" ]; then echo "export MONGODB_URI='$MONGODB_URI'"; return; fi
  local pidf="$STATE_DIR/ferretdb.pid" portf="$STATE_DIR/ferretdb.port" log="$STATE_DIR/ferretdb.log"
  # One started from an earlier build (without the fix in build_ferretdb) is replaced.
  if pid_alive "$pidf" && [ "$(readlink "/proc/$(cat "$pidf")/exe" 2>/dev/null)" != "$FERRETDB_BIN" ]; then
    stop_pidfile "$pidf" "FerretDB (an earlier build)"; sleep 1
  fi
  if ! pid_alive "$pidf" || ! port_open "$(cat "$portf" 2>/dev/null || echo 1)"; then
    build_ferretdb
    local port; port="$(cat "$portf" 2>/dev/null || true)"
    if [ -z "$port" ] || port_open "$port"; then port="$(free_port)"; fi
    mkdir -p "$STATE_DIR/ferretdb-data"
    say "starting FerretDB on 127.0.0.1:$port (data in $STATE_DIR/ferretdb-data)"
    # synchronous(normal) in WAL mode: a commit survives a crash of FerretDB or of any process, and
    # only an OS crash or power loss can undo the last ones, as with a standalone mongod's default
    # write concern (journal flushed every 100 ms). FULL added an fsync to every write.
    nohup "$FERRETDB_BIN" --handler=sqlite --sqlite-url="file:$STATE_DIR/ferretdb-data/?_pragma=synchronous(normal)" \
      --listen-addr="127.0.0.1:$port" --debug-addr="${FERRETDB_DEBUG_ADDR:--}" --telemetry=disable --log-level=warn --state-dir="$STATE_DIR" \
      >"$log" 2>&1 </dev/null 9>&- &
    echo $! >"$pidf"; echo "$port" >"$portf"
    wait_port "$port" 30 FerretDB "$log"
  fi
  echo "export MONGODB_URI='mongodb://127.0.0.1:$(cat "$portf")/deckhand'"
}

# ---------- Redis ----------
redis_up() {
  if [ -n "${REDIS_URL:-}" ]; then echo "export REDIS_URL='$REDIS_URL'"; return; fi
  local pidf="$STATE_DIR/redis.pid" portf="$STATE_DIR/redis.port" log="$STATE_DIR/redis.log"
  if ! pid_alive "$pidf" || ! port_open "$(cat "$portf" 2>/dev/null || echo 1)"; then
    if ! command -v redis-server >/dev/null; then
      say "installing Debian's redis-server"
      (as_root apt-get install -y redis-server >"$STATE_DIR/apt-redis.log" 2>&1 9>&-) \
        || fail "Redis: apt-get install redis-server failed (see $STATE_DIR/apt-redis.log); install it or set REDIS_URL"
    fi
    local port; port="$(cat "$portf" 2>/dev/null || true)"
    if [ -z "$port" ] || port_open "$port"; then port="$(free_port)"; fi
    say "starting redis-server on 127.0.0.1:$port"
    redis-server --bind 127.0.0.1 --port "$port" --save "" --appendonly no --daemonize yes \
      --pidfile "$pidf" --logfile "$log" --dir "$STATE_DIR" >/dev/null 9>&-
    echo "$port" >"$portf"
    wait_port "$port" 15 Redis "$log"
  fi
  echo "export REDIS_URL='redis://127.0.0.1:$(cat "$portf")'"
}

# ---------- Docker engine ----------
docker_ok() { docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

docker_up() {
  if [ -n "${DOCKER_HOST:-}" ]; then
    docker_ok || fail "Docker: DOCKER_HOST=$DOCKER_HOST is set but the daemon does not answer"
    echo "export DOCKER_HOST='$DOCKER_HOST'"; return
  fi
  if ! docker_ok; then
    if ! command -v dockerd >/dev/null; then
      say "installing Debian's docker.io"
      (as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y docker.io >"$STATE_DIR/apt-docker.log" 2>&1 9>&-) \
        || fail "Docker: apt-get install docker.io failed (see $STATE_DIR/apt-docker.log)"
    fi
    say "starting dockerd"
    (as_root nohup dockerd >"$STATE_DIR/dockerd.log" 2>&1 </dev/null 9>&- &) || fail "Docker: cannot start dockerd (needs root)"
    echo started >"$STATE_DIR/dockerd.started"
    for _ in $(seq 1 300); do docker_ok && break; sleep 0.2; done
    docker_ok || fail "Docker: dockerd did not answer within 60s; last log lines:
$(tail -n 20 "$STATE_DIR/dockerd.log" 2>/dev/null)"
  fi
  echo "export DOCKER_HOST='unix:///var/run/docker.sock'"
}

stop_pidfile() { if pid_alive "$1"; then kill "$(cat "$1")" 2>/dev/null || true; say "stopped $2"; fi; rm -f "$1"; }

case "${1:-}" in
  up)
    # Several test runners may call `up` at once: one at a time, the others then reuse what it started.
    # The daemons below are started with 9>&-: one that inherited the lock would hold it forever.
    exec 9>"$STATE_DIR/up.lock"
    flock -w 600 9 || fail "another 'services.sh up' has held $STATE_DIR/up.lock for 10 minutes; a daemon it
started may have inherited the lock (lsof $STATE_DIR/up.lock), stop that process and try again"
    # Optional list of services: `up mongo` starts only the database (Deckhand's embedded default).
    shift; wanted="${*:-mongo redis docker}"
    case " $wanted " in *" mongo "*) mongo_up ;; esac
    case " $wanted " in *" redis "*) redis_up ;; esac
    case " $wanted " in *" docker "*) [ "${DECKHAND_SKIP_DOCKER:-}" = 1 ] || docker_up ;; esac
    ;;
  env)
    [ -n "${MONGODB_URI:-}" ] && echo "export MONGODB_URI='$MONGODB_URI'" || { [ -f "$STATE_DIR/ferretdb.port" ] && echo "export MONGODB_URI='mongodb://127.0.0.1:$(cat "$STATE_DIR/ferretdb.port")/deckhand'"; } || true
    [ -n "${REDIS_URL:-}" ] && echo "export REDIS_URL='$REDIS_URL'" || { [ -f "$STATE_DIR/redis.port" ] && echo "export REDIS_URL='redis://127.0.0.1:$(cat "$STATE_DIR/redis.port")'"; } || true
    docker_ok && echo "export DOCKER_HOST='${DOCKER_HOST:-unix:///var/run/docker.sock}'" || true
    ;;
  down)
    stop_pidfile "$STATE_DIR/ferretdb.pid" FerretDB
    stop_pidfile "$STATE_DIR/redis.pid" Redis
    # dockerd is shared with the rest of the machine; leave it running even if we started it.
    ;;
  *)
    echo "usage: scripts/services.sh up|env|down" >&2; exit 2 ;;
esac
