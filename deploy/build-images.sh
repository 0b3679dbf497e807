#!/usr/bin/env bash
# Builds the images that docker-compose and the container tests use — with no registry.
#   bash deploy/build-images.sh            base images (if missing) + the service image
#   SUPERNODE_NODE_IMAGE=node:20-bookworm-slim SUPERNODE_NATS_IMAGE=nats:2.9 bash deploy/build-images.sh
#                                          elsewhere: public base images (pulled by docker build)
# Local base images are made from this machine's binaries: a root filesystem with the host's `node`
# and `nats-server`, the libraries `ldd` lists for them, busybox-static, a CA bundle and a non-root
# user, packed with tar and loaded with `docker import`. Idempotent: existing base images are kept;
# the service image build is cached by docker.
set -euo pipefail
cd "$(dirname "$0")/.."

NODE_IMAGE=${SUPERNODE_NODE_IMAGE:-supernode/node-base:20}
NATS_IMAGE=${SUPERNODE_NATS_IMAGE:-supernode/nats:2.9.10}
IMAGE=${SUPERNODE_IMAGE:-supernode:dev}
APP_UID=1000
STAGE=deploy/.stage

say() { echo "build-images: $*" >&2; }
have_image() { docker image inspect "$1" >/dev/null 2>&1; }
is_local() { [[ $1 == supernode/* ]]; }

# Copies a binary and every shared library ldd lists for it into the rootfs, at the same paths.
add_binary() {
  local root=$1 bin=$2 dest=$3
  install -D -m 0755 "$(readlink -f "$bin")" "$root$dest"
  local lib
  for lib in $(ldd "$bin" 2>/dev/null | grep -o '/[^ ]*' || true); do
    [ -e "$root$lib" ] || install -D -m 0755 "$(readlink -f "$lib")" "$root$lib"
  done
}

busybox_bin() {
  if ! command -v busybox >/dev/null 2>&1; then
    say "installing busybox-static (Debian package)"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends busybox-static >/dev/null
  fi
  command -v busybox
}

# A minimal root filesystem: busybox (/bin/sh and tools), CA bundle, users, /tmp 1777.
base_rootfs() {
  local root=$1 user=$2 bb
  bb=$(busybox_bin)
  mkdir -p "$root"/{bin,etc/ssl/certs,tmp,usr/local/bin,home/$user,data}
  add_binary "$root" "$bb" /bin/busybox
  local applet
  for applet in $("$bb" --list); do [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"; done
  cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
  printf 'root:x:0:0:root:/root:/bin/sh\n%s:x:%d:%d::/home/%s:/bin/sh\n' "$user" $APP_UID $APP_UID "$user" >"$root/etc/passwd"
  printf 'root:x:0:\n%s:x:%d:\n' "$user" $APP_UID >"$root/etc/group"
  printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
  chmod 1777 "$root/tmp" "$root/data"
  chown $APP_UID:$APP_UID "$root/home/$user"
}

import_rootfs() {
  local root=$1 tag=$2; shift 2
  tar --numeric-owner -C "$root" -c . | docker import "$@" - "$tag" >/dev/null
}

make_node_base() {
  local root; root=$(mktemp -d)
  base_rootfs "$root" node
  add_binary "$root" "$(command -v node)" /usr/local/bin/node
  import_rootfs "$root" "$NODE_IMAGE" \
    --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin' \
    --change 'USER node' --change 'WORKDIR /home/node' --change 'CMD ["node"]'
  rm -rf "$root"
}

make_nats_base() {
  local root nats; root=$(mktemp -d)
  nats=${NATS_SERVER_BIN:-$(command -v nats-server || echo /usr/sbin/nats-server)}
  base_rootfs "$root" nats
  add_binary "$root" "$nats" /nats-server
  import_rootfs "$root" "$NATS_IMAGE" \
    --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin' \
    --change 'USER nats' --change 'EXPOSE 4222 6222 8222' \
    --change 'ENTRYPOINT ["/nats-server"]' --change 'CMD ["--help"]'
  rm -rf "$root"
}

for pair in "$NODE_IMAGE:make_node_base" "$NATS_IMAGE:make_nats_base"; do
  img=${pair%:*} make=${pair##*:}
  if have_image "$img"; then continue; fi
  if is_local "$img"; then
    t0=$(date +%s.%N)
    $make
    say "made $img from this machine's binaries ($(awk "BEGIN{printf \"%.1f\", $(date +%s.%N)-$t0}") s)"
  else
    say "$img is not local: docker build will pull it"
  fi
done

# Production node_modules for the image, staged from the lock file (npm's cache: no network when warm).
if [ ! -f "$STAGE/node_modules/.package-lock.json" ] || [ package-lock.json -nt "$STAGE/node_modules/.package-lock.json" ]; then
  say "staging production node_modules"
  rm -rf "$STAGE" && mkdir -p "$STAGE"
  cp package.json package-lock.json "$STAGE/"
  (cd "$STAGE" && npm ci --omit=dev --ignore-scripts --prefer-offline --no-audit --no-fund --loglevel=error >&2)
fi
[ -f dist/services/cli/main.js ] || bash scripts/setup.sh

t0=$(date +%s.%N)
DOCKER_BUILDKIT=0 docker build -q --force-rm -t "$IMAGE" --build-arg NODE_IMAGE="$NODE_IMAGE" --build-arg NATS_IMAGE="$NATS_IMAGE" . >/dev/null
# Earlier builds of this image, now untagged.
docker image prune -f --filter label=io.supernode.image=service >/dev/null
say "built $IMAGE on $NODE_IMAGE + $NATS_IMAGE ($(awk "BEGIN{printf \"%.1f\", $(date +%s.%N)-$t0}") s, $(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%d MB", $1/1e6}'))"
