#!/usr/bin/env bash
# Builds the sandbox image locally, with no image registry: debootstrap (minbase bookworm) + Debian's
# toolchains (git, make, nodejs + npm, python3 + pip + pytest + venv, golang-go) and tinyproxy (the
# egress proxy of dependency-install runs, src/runners/egress.ts), a non-root user `sandbox`
# (uid 10001), then `docker import`.
#   scripts/sandbox-image.sh            build if missing; prints the image ID on stdout
#   scripts/sandbox-image.sh --force    rebuild the root filesystem even if it is cached
# The image is tagged deckhand-sandbox:<recipe hash> (the hash of this file, so any change to the recipe
# yields a new tag) and deckhand-sandbox:latest. Idempotent and fast when the image already exists:
# one `docker image inspect` (~0.1 s). The installed packages, the finished root filesystem and the
# downloaded .debs are cached in ~/.cache/deckhand/sandbox: after `docker image rm` a rebuild only
# re-imports, and after an edit of this file it skips debootstrap and apt-get (timings below).
# Progress goes to stderr; stdout is only the image ID. deploy/runner/Dockerfile is the same image for
# machines that can pull debian:12-slim.
set -euo pipefail

REPO="${DECKHAND_SANDBOX_REPO:-deckhand-sandbox}"
SUITE=bookworm
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
# Installed with apt-get inside the debootstrapped root: debootstrap's own resolver knows no virtual
# packages, and npm's node-* dependencies are full of them (its --include fails configuring npm).
# tinyproxy-bin is Debian's tinyproxy binary without the `tinyproxy` service package (which pulls in
# adduser and logrotate, adds a system user and tries to start its daemon inside the chroot);
# egress.ts runs the binary with a config of its own.
PACKAGES="git make nodejs npm python3 python3-pip python3-pytest python3-venv golang-go tinyproxy-bin"
# Containers run with a read-only root, and a program gets only PATH, HOME=/work and LANG (the runner
# starts it with `env -i`): the toolchains' caches are pointed at the /tmp tmpfs here, in the image
# ENV (for `docker run`) and in files they read whatever the environment (/etc/npmrc, /etc/pip.conf,
# the /usr/local/bin/go wrapper), so nothing lands in a workspace checked out at /work.
TOOL_ENV='GOCACHE=/tmp/go-cache GOPATH=/tmp/go GOFLAGS=-modcacherw npm_config_cache=/tmp/npm-cache npm_config_update_notifier=false PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1'
SANDBOX_UID=10001
CACHE_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/deckhand/sandbox"

say() { echo "sandbox-image: $*" >&2; }
fail() { echo "sandbox-image: FAILED: $*" >&2; exit 1; }

# debootstrap's and apt-get's logs are one line a package and step; stderr gets each debootstrap phase's
# first line and running counts for apt-get (the whole logs stay in $CACHE_DIR).
debootstrap_progress() {
  awk '/^I: Validating / { next } # one a .deb, right after its "Retrieving" line
       /^[IW]: / { n++; if ($2 != last) print "sandbox-image:   " substr($0, 4) > "/dev/stderr";
                   else if (n % 100 == 0) print "sandbox-image:   ... " n " steps" > "/dev/stderr";
                   last = $2; fflush("/dev/stderr") }'
}
apt_progress() {
  awk 'function say(s) { print "sandbox-image:   " s > "/dev/stderr"; fflush("/dev/stderr") }
       /^E: Can not write log/ { next } # dpkg has no /dev/pts in the chroot for its terminal log
       / newly installed, / { total = $3; say($0) }
       /^(Need to get|E:|W:)/ { say($0) }
       /^Get:/ { if (++got % 100 == 0) say("downloaded " got (total ? "/" total : "") " .debs") }
       /^Unpacking / { if (++unpacked == 1 || unpacked % 100 == 0) say("unpacked " unpacked "/" total) }
       /^Setting up / { if (++set == 1 || set % 100 == 0 || set == total) say("set up " set "/" total) }'
}

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo -n "$@"; else return 1; fi
}

force=0
[ "${1:-}" = --force ] && force=1

command -v docker >/dev/null || fail "docker CLI not found; run scripts/services.sh up docker first"
docker version --format '{{.Server.Version}}' >/dev/null 2>&1 \
  || fail "the Docker daemon does not answer${DOCKER_HOST:+ at $DOCKER_HOST}; run: eval \"\$(scripts/services.sh up docker)\""

HASH="$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-12)"
TAG="$REPO:$HASH"

# Fast path: the image for this recipe exists; make sure :latest points at it.
image_ready() {
  local id
  id="$(docker image inspect --format '{{.Id}}' "$TAG" 2>/dev/null)" || return 1
  [ "$(docker image inspect --format '{{.Id}}' "$REPO:latest" 2>/dev/null || true)" = "$id" ] \
    || docker tag "$TAG" "$REPO:latest"
  echo "$id"
}
if [ "$force" = 0 ] && image_ready; then exit 0; fi

mkdir -p "$CACHE_DIR/debs"
# Two builds at once (the test suite and a developer) would fight over the same cache files; the
# second one waits here and then finds the image the first one imported.
exec 9>"$CACHE_DIR/.lock"
flock 9
if [ "$force" = 0 ] && image_ready; then exit 0; fi

# Two cache levels: debootstrap + apt-get's output (slow: ~2.5 min with the .debs cached, ~4 min cold)
# keyed only by the packages asked for, and the finished root filesystem keyed by the whole recipe.
# Editing the customisation below costs ~30 s (repack and import), not a new debootstrap.
BASE_KEY="$(printf '%s|%s|%s|minbase+apt' "$SUITE" "$PACKAGES" "$(uname -m)" | sha256sum | cut -c1-12)"
BASE_TAR="$CACHE_DIR/base-$BASE_KEY.tar"
ROOTFS_TAR="$CACHE_DIR/rootfs-$HASH.tar"
root=""
trap '[ -z "$root" ] || as_root rm -rf "$root"' EXIT

if [ "$force" = 1 ] || [ ! -s "$BASE_TAR" ]; then
  as_root true || fail "debootstrap needs root (or passwordless sudo)"
  if ! command -v debootstrap >/dev/null; then
    say "installing Debian's debootstrap"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y debootstrap >"$CACHE_DIR/apt-debootstrap.log" 2>&1 \
      || fail "debootstrap is not installed and apt-get install debootstrap failed (see $CACHE_DIR/apt-debootstrap.log)"
  fi
  root="$(mktemp -d "$CACHE_DIR/root.XXXXXX")"
  say "debootstrap $SUITE (minbase) from $MIRROR (about a minute; .debs cached in $CACHE_DIR/debs)"
  as_root debootstrap --variant=minbase --cache-dir="$CACHE_DIR/debs" \
    "$SUITE" "$root" "$MIRROR" 2>&1 | tee "$CACHE_DIR/debootstrap.log" | debootstrap_progress \
    || fail "debootstrap failed, see $CACHE_DIR/debootstrap.log:
$(tail -n 15 "$CACHE_DIR/debootstrap.log")"
  say "apt-get install $PACKAGES (a few minutes)"
  # The .debs go through the same cache both ways, so a rebuild downloads nothing.
  # shellcheck disable=SC2086 # PACKAGES is a list of words
  as_root sh -euc '
    root="$1"; debs="$2"; shift 2
    chmod 0755 "$root" # mktemp -d made it 0700, which apt-get'"'"'s _apt user cannot enter
    find "$debs" -maxdepth 1 -name "*.deb" -exec cp -t "$root/var/cache/apt/archives/" {} +
    chroot "$root" apt-get update
    chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"
    find "$root/var/cache/apt/archives" -maxdepth 1 -name "*.deb" -exec cp -n -t "$debs/" {} +
  ' sh "$root" "$CACHE_DIR/debs" $PACKAGES 2>&1 | tee "$CACHE_DIR/apt.log" | apt_progress \
    || fail "apt-get install in the new root failed, see $CACHE_DIR/apt.log:
$(tail -n 15 "$CACHE_DIR/apt.log")"
  as_root tar -C "$root" --numeric-owner -cf "$BASE_TAR.tmp" . || fail "cannot pack the debootstrap output"
  as_root mv "$BASE_TAR.tmp" "$BASE_TAR"
  as_root rm -rf "$root"; root=""
  rm -f "$ROOTFS_TAR"
else
  say "using cached packages $BASE_TAR"
fi

if [ ! -s "$ROOTFS_TAR" ]; then
  root="$(mktemp -d "$CACHE_DIR/root.XXXXXX")"
  as_root tar -C "$root" --numeric-owner -xf "$BASE_TAR" || fail "cannot unpack $BASE_TAR"
  say "adding user sandbox ($SANDBOX_UID) and trimming the root filesystem"
  # minbase has no `passwd` package (useradd), so the account is written directly.
  as_root sh -euc '
    root="$1"; uid="$2"
    echo "sandbox:x:$uid:$uid:sandbox:/work:/bin/sh" >>"$root/etc/passwd"
    echo "sandbox:x:$uid:" >>"$root/etc/group"
    echo "sandbox:!:19000:0:99999:7:::" >>"$root/etc/shadow"
    mkdir -p "$root/work" && chown "$uid:$uid" "$root/work" && chmod 0755 "$root/work"
    chmod 1777 "$root/tmp"
    # The runner hands a program only PATH, HOME and LANG, so the caches are set where each tool looks
    # whatever the environment: npm and pip read /etc, and Go 1.19 has no such file, hence a wrapper
    # first on PATH (Debian'"'"'s /usr/lib/go links to the real Go).
    printf "%s\n" "cache=/tmp/npm-cache" "update-notifier=false" "fund=false" "audit=false" >"$root/etc/npmrc"
    printf "%s\n" "[global]" "no-cache-dir = true" "disable-pip-version-check = true" >"$root/etc/pip.conf"
    go=/usr/lib/go/bin/go; [ -x "$root$go" ] || { echo "no $go in the root filesystem" >&2; exit 1; }
    printf "%s\n" "#!/bin/sh" "# Go caches on the /tmp tmpfs: the root is read-only and /work may be a checkout." \
      ": \"\${GOCACHE:=/tmp/go-cache}\" \"\${GOPATH:=/tmp/go}\" \"\${GOFLAGS:=-modcacherw}\"" \
      "export GOCACHE GOPATH GOFLAGS" "exec $go \"\$@\"" >"$root/usr/local/bin/go"
    chmod 0755 "$root/usr/local/bin/go"
    # Nothing in a sandbox installs packages; docs, man pages, locales and apt state are dead weight.
    rm -rf "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* \
      "$root"/usr/share/locale/* "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* \
      "$root"/var/cache/debconf/*-old "$root"/var/log/* "$root"/dev/*
  ' sh "$root" "$SANDBOX_UID"
  as_root tar -C "$root" --numeric-owner -cf "$ROOTFS_TAR.tmp" . || fail "cannot pack the root filesystem"
  as_root mv "$ROOTFS_TAR.tmp" "$ROOTFS_TAR"
  as_root rm -rf "$root"; root=""
  # Other recipes' root filesystems are never used again (their images, if any, stay in Docker).
  find "$CACHE_DIR" -maxdepth 1 -name 'rootfs-*.tar' ! -name "rootfs-$HASH.tar" -delete
else
  say "using cached root filesystem $ROOTFS_TAR"
fi

say "importing $TAG"
docker import \
  --change "USER $SANDBOX_UID:$SANDBOX_UID" \
  --change 'WORKDIR /work' \
  --change "ENV PATH=/usr/local/bin:/usr/bin:/bin HOME=/work LANG=C.UTF-8 $TOOL_ENV" \
  --change 'CMD ["/bin/sh"]' \
  --change "LABEL deckhand.recipe=$HASH" \
  --message "deckhand sandbox image, recipe $HASH" \
  "$ROOTFS_TAR" "$TAG" >/dev/null || fail "docker import failed"
docker tag "$TAG" "$REPO:latest"
id="$(docker image inspect --format '{{.Id}}' "$TAG")"
say "built $TAG and $REPO:latest ($id)"
# Older recipes' images are kept: a running Deckhand pinned one of them by ID.
old="$(docker image ls "$REPO" --format '{{.Repository}}:{{.Tag}}' | grep -v -e ":latest$" -e ":$HASH$" || true)"
[ -z "$old" ] || say "older images, remove them once no Deckhand runs on them: docker rmi $(echo $old)"
echo "$id"
