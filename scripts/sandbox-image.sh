#!/usr/bin/env bash
# Builds the sandbox image locally, with no image registry: debootstrap (minbase bookworm) +
# python3-minimal + Debian's nodejs, a non-root user `sandbox` (uid 10001), then `docker import`.
#   scripts/sandbox-image.sh            build if missing; prints the image ID on stdout
#   scripts/sandbox-image.sh --force    rebuild the root filesystem even if it is cached
# The image is tagged deckhand-sandbox:<recipe hash> (the hash of this file, so any change to the recipe
# yields a new tag) and deckhand-sandbox:latest. Idempotent and fast when the image already exists:
# one `docker image inspect` (~0.1 s). The debootstrap output, the finished root filesystem and the
# downloaded .debs are cached in ~/.cache/deckhand/sandbox: after `docker image rm` a rebuild only
# re-imports (~5 s), and after an edit of this file it skips debootstrap (~10 s).
# Progress goes to stderr; stdout is only the image ID. deploy/runner/Dockerfile is the same image for
# machines that can pull debian:12-slim.
set -euo pipefail

REPO="${DECKHAND_SANDBOX_REPO:-deckhand-sandbox}"
SUITE=bookworm
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
PACKAGES=python3-minimal,nodejs
SANDBOX_UID=10001
CACHE_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/deckhand/sandbox"

say() { echo "sandbox-image: $*" >&2; }
fail() { echo "sandbox-image: FAILED: $*" >&2; exit 1; }

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

# Two cache levels: the debootstrap output (slow: ~45 s) keyed only by what debootstrap is asked for,
# and the finished root filesystem keyed by the whole recipe. Editing the customisation below costs
# seconds, not a new debootstrap.
BASE_KEY="$(printf '%s|%s|%s|minbase' "$SUITE" "$PACKAGES" "$(uname -m)" | sha256sum | cut -c1-12)"
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
  say "debootstrap $SUITE (minbase + $PACKAGES) from $MIRROR (about a minute; .debs cached in $CACHE_DIR/debs)"
  as_root debootstrap --variant=minbase --include="$PACKAGES" --cache-dir="$CACHE_DIR/debs" \
    "$SUITE" "$root" "$MIRROR" >"$CACHE_DIR/debootstrap.log" 2>&1 \
    || fail "debootstrap failed, see $CACHE_DIR/debootstrap.log:
$(tail -n 15 "$CACHE_DIR/debootstrap.log")"
  as_root tar -C "$root" --numeric-owner -cf "$BASE_TAR.tmp" . || fail "cannot pack the debootstrap output"
  as_root mv "$BASE_TAR.tmp" "$BASE_TAR"
  as_root rm -rf "$root"; root=""
  rm -f "$ROOTFS_TAR"
else
  say "using cached debootstrap output $BASE_TAR"
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
  --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin HOME=/work LANG=C.UTF-8' \
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
