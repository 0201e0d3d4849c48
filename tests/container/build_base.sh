#!/usr/bin/env bash
# Builds a local base image the image tests build FROM, instead of an official image
# (no container registry is reachable here): a Debian rootfs made with debootstrap
# (--variant=minbase) from the machine's own apt mirror, with this machine's CA bundle
# and global pip settings, imported into buildah (vfs storage) FROM scratch.
#   python (default): bookworm with python3 (3.11) and its venv module, for
#     worker/Dockerfile and the server Dockerfile's Python stage (python:3.11-slim).
#   node: trixie with Debian's nodejs (20) and npm, for the server Dockerfile's UI
#     stage (node:20-bookworm-slim); bookworm's nodejs 18 is too old for Next.js 16.
#
# The image is cached in buildah's storage under $BANANABATCH_CONTAINER_CACHE
# (default: .cache/container in the repository) and tagged by a hash of this script,
# the mirror and the copied settings, so a second run only looks it up.
#
# Usage: tests/container/build_base.sh [python|node]  -> prints the image name last.
# Needs root, debootstrap and buildah (`make worker-image-tools` installs them).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${BANANABATCH_CONTAINER_CACHE:-$ROOT/.cache/container}
FLAVOR=${1:-python}
case $FLAVOR in
  python) SUITE=bookworm INCLUDE=python3,python3-venv APT_PACKAGES="" NAME=bananabatch-worker-base ;;
  node) SUITE=trixie INCLUDE=ca-certificates APT_PACKAGES="nodejs npm" NAME=bananabatch-node-base ;;
  *) echo "build_base: unknown flavor $FLAVOR (python or node)" >&2; exit 2 ;;
esac
BUILDAH=(buildah --root "$CACHE/storage" --runroot "$CACHE/run" --storage-driver vfs)

say() { echo "build_base: $*" >&2; }

# The first Debian mirror the machine's apt uses for bookworm (deb822 or one-line
# format; the same archive serves trixie); BANANABATCH_DEBIAN_MIRROR overrides it.
debian_mirror() {
  if [[ -n ${BANANABATCH_DEBIAN_MIRROR:-} ]]; then
    echo "$BANANABATCH_DEBIAN_MIRROR"
    return
  fi
  local file
  for file in /etc/apt/sources.list.d/*.sources; do
    [[ -f $file ]] || continue
    # one stanza per blank-line-separated paragraph: print its URI when a suite is $SUITE
    awk -v suite="bookworm" '
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
    sed -E 's/\[[^]]*\]//' "$file" | awk -v suite="bookworm" '$1 == "deb" && $3 == suite { print $2; exit }'
  done | head -n1 | grep . && return
  echo "http://deb.debian.org/debian"
}

pip_env() { env | grep -E '^PIP_[A-Z_]+=' | sort || true; }

MIRROR=$(debian_mirror)
KEY=$(
  {
    cat "$0"
    echo "$FLAVOR $MIRROR"
    pip_env
    for f in /etc/ssl/certs/ca-certificates.crt /etc/pip.conf /etc/xdg/pip/*; do
      [[ -f $f ]] && { echo "$f"; cat "$f"; }
    done
  } | sha256sum | cut -c1-12
)
IMAGE="localhost/$NAME:$SUITE-$KEY"

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
LOG="$CACHE/debootstrap-$FLAVOR.log"
debootstrap --variant=minbase --include="$INCLUDE" "$SUITE" "$ROOTFS" "$MIRROR" \
  >"$LOG" 2>&1 || { tail -n 30 "$LOG" >&2; exit 1; }
say "debootstrap took $((SECONDS - started))s"
if [[ -n $APT_PACKAGES ]]; then
  # debootstrap's --include does not resolve npm's deep dependency tree; apt does
  say "apt-get install $APT_PACKAGES"
  { chroot "$ROOTFS" apt-get update -qq \
      && DEBIAN_FRONTEND=noninteractive chroot "$ROOTFS" \
        apt-get install -y -qq --no-install-recommends $APT_PACKAGES; } \
    >>"$LOG" 2>&1 || { tail -n 30 "$LOG" >&2; exit 1; }
fi

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
if [[ $FLAVOR == node ]]; then
  # Node has its own CA store: point it and npm at this machine's bundle too
  CONFIG+=(--env NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt)
  CONFIG+=(--env npm_config_cafile=/etc/ssl/certs/ca-certificates.crt)
fi
while IFS= read -r line; do
  [[ -n $line ]] && CONFIG+=(--env "$line")
done < <(pip_env)
CMD='["python3"]'
[[ $FLAVOR == node ]] && CMD='["node"]'
"${BUILDAH[@]}" config "${CONFIG[@]}" --cmd "$CMD" "$CONTAINER"
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
