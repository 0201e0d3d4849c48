#!/usr/bin/env bash
# Builds the local base image the worker image test builds FROM, instead of
# python:3.11-slim (no container registry is reachable here): a Debian bookworm
# rootfs made with debootstrap (--variant=minbase) from the machine's own apt mirror,
# with python3 (3.11) and its venv module, this machine's CA bundle and global pip
# settings, imported into buildah (vfs storage) FROM scratch.
#
# The image is cached in buildah's storage under $BANANABATCH_CONTAINER_CACHE
# (default: .cache/container in the repository) and tagged by a hash of this script,
# the mirror and the copied settings, so a second run only looks it up.
#
# Usage: tests/container/build_base.sh   -> prints the image name as its last line.
# Needs root, debootstrap and buildah (`make worker-image-tools` installs them).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${BANANABATCH_CONTAINER_CACHE:-$ROOT/.cache/container}
SUITE=bookworm
BUILDAH=(buildah --root "$CACHE/storage" --runroot "$CACHE/run" --storage-driver vfs)

say() { echo "build_base: $*" >&2; }

# The first Debian mirror the machine's apt uses for $SUITE (deb822 or one-line
# format); BANANABATCH_DEBIAN_MIRROR overrides it.
debian_mirror() {
  if [[ -n ${BANANABATCH_DEBIAN_MIRROR:-} ]]; then
    echo "$BANANABATCH_DEBIAN_MIRROR"
    return
  fi
  local file
  for file in /etc/apt/sources.list.d/*.sources; do
    [[ -f $file ]] || continue
    # one stanza per blank-line-separated paragraph: print its URI when a suite is $SUITE
    awk -v suite="$SUITE" '
      BEGIN { RS = ""; FS = "\n" }
      {
        uri = ""; ok = 0; deb = 0
        for (i = 1; i <= NF; i++) {
          line = $i
          if (line ~ /^Types:/ && line ~ /(^|[ \t])deb([ \t]|$)/) deb = 1
          if (line ~ /^URIs:/) { sub(/^URIs:[ \t]*/, "", line); split(line, u, /[ \t]+/); uri = u[1] }
          if (line ~ /^Suites:/) { n = split(line, s, /[ \t]+/); for (j = 2; j <= n; j++) if (s[j] == suite) ok = 1 }
        }
        if (deb && ok && uri != "") { print uri; exit }
      }' "$file"
  done | head -n1 | grep . && return
  for file in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f $file ]] || continue
    # deb [options] URI SUITE COMPONENTS...
    sed -E 's/\[[^]]*\]//' "$file" | awk -v suite="$SUITE" '$1 == "deb" && $3 == suite { print $2; exit }'
  done | head -n1 | grep . && return
  echo "http://deb.debian.org/debian"
}

pip_env() { env | grep -E '^PIP_[A-Z_]+=' | sort || true; }

MIRROR=$(debian_mirror)
KEY=$(
  {
    cat "$0"
    echo "$MIRROR"
    pip_env
    for f in /etc/ssl/certs/ca-certificates.crt /etc/pip.conf /etc/xdg/pip/*; do
      [[ -f $f ]] && { echo "$f"; cat "$f"; }
    done
  } | sha256sum | cut -c1-12
)
IMAGE="localhost/bananabatch-worker-base:$SUITE-$KEY"

mkdir -p "$CACHE"
if "${BUILDAH[@]}" inspect --type image "$IMAGE" >/dev/null 2>&1; then
  say "cached: $IMAGE"
  echo "$IMAGE"
  exit 0
fi

ROOTFS=$(mktemp -d "$CACHE/rootfs.XXXXXX")
CONTAINER=""
cleanup() {
  [[ -n $CONTAINER ]] && "${BUILDAH[@]}" rm "$CONTAINER" >/dev/null 2>&1 || true
  rm -rf "$ROOTFS"
}
trap cleanup EXIT

say "debootstrap $SUITE from $MIRROR"
started=$SECONDS
debootstrap --variant=minbase --include=python3,python3-venv "$SUITE" "$ROOTFS" "$MIRROR" \
  >"$CACHE/debootstrap.log" 2>&1 || { tail -n 30 "$CACHE/debootstrap.log" >&2; exit 1; }
say "debootstrap took $((SECONDS - started))s"

# Slim the rootfs: apt lists and caches, docs, man pages, translations, logs.
rm -rf "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/cache/apt/* "$ROOTFS"/var/cache/debconf/*-old \
  "$ROOTFS"/usr/share/doc/* "$ROOTFS"/usr/share/man/* "$ROOTFS"/usr/share/info/* \
  "$ROOTFS"/usr/share/locale/* "$ROOTFS"/var/log/*.log "$ROOTFS"/var/log/apt/*

# What pip needs to reach the package index the way this machine does.
mkdir -p "$ROOTFS/etc/ssl/certs"
cp /etc/ssl/certs/ca-certificates.crt "$ROOTFS/etc/ssl/certs/ca-certificates.crt"
[[ -f /etc/pip.conf ]] && cp /etc/pip.conf "$ROOTFS/etc/pip.conf"
if [[ -d /etc/xdg/pip ]]; then
  mkdir -p "$ROOTFS/etc/xdg"
  cp -r /etc/xdg/pip "$ROOTFS/etc/xdg/pip"
fi

say "importing into buildah as $IMAGE"
CONTAINER=$("${BUILDAH[@]}" from scratch)
MOUNT=$("${BUILDAH[@]}" mount "$CONTAINER")
tar -C "$ROOTFS" -cf - . | tar -C "$MOUNT" -xf -
"${BUILDAH[@]}" umount "$CONTAINER" >/dev/null
CONFIG=(--env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --env LANG=C.UTF-8)
while IFS= read -r line; do
  [[ -n $line ]] && CONFIG+=(--env "$line")
done < <(pip_env)
"${BUILDAH[@]}" config "${CONFIG[@]}" --cmd '["python3"]' "$CONTAINER"
"${BUILDAH[@]}" commit --quiet --rm "$CONTAINER" "$IMAGE" >/dev/null
CONTAINER=""
# older bases (another script version, mirror or pip setup) are dead weight now
for old in $("${BUILDAH[@]}" images --format '{{.Name}}:{{.Tag}}'); do
  if [[ $old == "${IMAGE%:*}:"* && $old != "$IMAGE" ]]; then
    "${BUILDAH[@]}" rmi "$old" >/dev/null 2>&1 || true
  fi
done
say "done in $((SECONDS - started))s"
echo "$IMAGE"
