#!/usr/bin/env bash
# Builds the radial image and runs it, as CI does on a machine where Docker
# is installed (Debian's docker.io) but no daemon runs and no base image can
# be pulled:
#   1. start dockerd by hand (no bridge, no iptables; data and exec roots in
#      a temporary directory), stopped by its PID at the end, even on failure;
#   2. make local stand-ins for the base images the Dockerfile names:
#      debian:bookworm-slim from `debootstrap --variant=minbase bookworm`
#      (cached under ~/.cache/radial-docker), and rust:1.95-bookworm from it
#      plus the host's Rust toolchain and CA certificates;
#   3. build the image (classic builder, --network=host), check its size;
#   4. run it, time /readyz, send one synthetic case through HTTP and compare
#      the answer with `radial predict` run from the same image.
# Needs root, docker.io and debootstrap. Prints each step's duration.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

IMAGE=${RADIAL_IMAGE:-radial:ci}
PORT=${RADIAL_DOCKER_PORT:-18480}
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/radial-docker
MAX_IMAGE_MB=150
TOOLCHAIN=${RADIAL_TOOLCHAIN:-$(rustc --print sysroot)}
export DOCKER_BUILDKIT=0

WORK=$(mktemp -d /tmp/radial-docker.XXXXXX)
DOCKERD_PID=""
CONTAINER=""
export DOCKER_HOST=unix://$WORK/docker.sock

cleanup() {
    local status=$?
    if [ -n "$CONTAINER" ]; then
        docker logs "$CONTAINER" > "$WORK/container.log" 2>&1 || true
        docker rm -f "$CONTAINER" > /dev/null 2>&1 || true
    fi
    if [ -n "$DOCKERD_PID" ] && kill -0 "$DOCKERD_PID" 2> /dev/null; then
        kill "$DOCKERD_PID" 2> /dev/null || true
        for _ in $(seq 1 60); do
            kill -0 "$DOCKERD_PID" 2> /dev/null || break
            sleep 0.5
        done
        kill -9 "$DOCKERD_PID" 2> /dev/null || true
    fi
    if [ $status -ne 0 ]; then
        echo "docker-ci: FAILED (status $status); logs:" >&2
        tail -n 30 "$WORK/dockerd.log" 2> /dev/null >&2 || true
        tail -n 30 "$WORK/container.log" 2> /dev/null >&2 || true
    fi
    # Leftover mounts of a killed daemon must not block the removal.
    grep " $WORK/" /proc/mounts | awk '{print $2}' | sort -r | xargs -r -n1 umount -l 2> /dev/null || true
    rm -rf "$WORK"
    exit $status
}
trap cleanup EXIT INT TERM

step() {
    STEP_NAME=$1
    STEP_START=$(date +%s)
    echo "== docker-ci: $1"
}
done_step() { echo "   ($STEP_NAME: $(($(date +%s) - STEP_START)) s)"; }

step "start dockerd"
dockerd --bridge=none --iptables=false --ip-forward=false --ip-masq=false \
    --data-root "$WORK/data" --exec-root "$WORK/exec" --pidfile "$WORK/dockerd.pid" \
    --host "$DOCKER_HOST" > "$WORK/dockerd.log" 2>&1 &
DOCKERD_PID=$!
for _ in $(seq 1 120); do
    docker version > /dev/null 2>&1 && break
    kill -0 "$DOCKERD_PID" 2> /dev/null || { echo "dockerd exited" >&2; exit 1; }
    sleep 0.5
done
docker version --format 'docker {{.Server.Version}}'
done_step

step "base image stand-ins"
mkdir -p "$CACHE"
if [ ! -s "$CACHE/bookworm-slim.tar" ]; then
    rm -rf "$WORK/rootfs"
    debootstrap --variant=minbase bookworm "$WORK/rootfs" http://deb.debian.org/debian > "$WORK/debootstrap.log" 2>&1 ||
        { tail -n 20 "$WORK/debootstrap.log" >&2; exit 1; }
    # As Debian's official slim images: no documentation, manuals or
    # translations, now or from later installs.
    cat > "$WORK/rootfs/etc/dpkg/dpkg.cfg.d/docker-slim" << 'SLIM'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
SLIM
    find "$WORK/rootfs/usr/share/doc" -mindepth 2 ! -name copyright -delete 2> /dev/null || true
    rm -rf "$WORK/rootfs/usr/share/man/"* "$WORK/rootfs/usr/share/info/"* \
        "$WORK/rootfs/usr/share/locale/"* "$WORK/rootfs/usr/share/lintian/"* \
        "$WORK/rootfs/var/cache/apt/archives/"*.deb "$WORK/rootfs/var/lib/apt/lists/"*
    tar -C "$WORK/rootfs" -cf "$CACHE/bookworm-slim.tar.tmp" .
    mv "$CACHE/bookworm-slim.tar.tmp" "$CACHE/bookworm-slim.tar"
    rm -rf "$WORK/rootfs"
fi
docker import "$CACHE/bookworm-slim.tar" debian:bookworm-slim > /dev/null
# The build image: the same base, a C linker, CA certificates (the host's
# extra ones too, so cargo reaches the registry) and the host's toolchain.
BUILDER="$WORK/builder"
mkdir -p "$BUILDER/toolchain" "$BUILDER/certs"
cp -a "$TOOLCHAIN/bin" "$TOOLCHAIN/lib" "$BUILDER/toolchain/"
cp -a /usr/local/share/ca-certificates/. "$BUILDER/certs/" 2> /dev/null || true
cat > "$BUILDER/Dockerfile" << 'DOCKERFILE'
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY certs/ /usr/local/share/ca-certificates/
RUN update-ca-certificates
COPY toolchain /usr/local/rust
ENV PATH=/usr/local/rust/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
DOCKERFILE
BUILDER_TAG=$(sed -n 's/^FROM \([^ ]*\) AS build.*/\1/p' Dockerfile)
docker build --network=host -q -t "$BUILDER_TAG" "$BUILDER" > /dev/null
rm -rf "$BUILDER"
done_step

step "docker build $IMAGE"
docker build --network=host -t "$IMAGE" . > "$WORK/build.log" 2>&1 ||
    { tail -n 40 "$WORK/build.log" >&2; exit 1; }
SIZE=$(docker image inspect -f '{{.Size}}' "$IMAGE")
SIZE_MB=$((SIZE / 1000000))
echo "   image size: $SIZE_MB MB (limit $MAX_IMAGE_MB MB)"
[ "$SIZE_MB" -lt "$MAX_IMAGE_MB" ] || { echo "image too large" >&2; exit 1; }
[ "$(docker image inspect -f '{{.Config.User}}' "$IMAGE")" != "" ] || { echo "image runs as root" >&2; exit 1; }
if docker run --rm --entrypoint sh "$IMAGE" -c 'command -v cc || command -v gcc || command -v cargo'; then
    echo "build tools in the runtime image" >&2
    exit 1
fi
done_step

step "run the container"
SECRET=ci-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
mkdir -p "$WORK/keys" "$WORK/cases"
echo "ci admin $(docker run --rm "$IMAGE" serve hash-key "$SECRET")" > "$WORK/keys/api-keys.txt"
chmod -R a+rX "$WORK/keys"
chmod 777 "$WORK/cases"
docker run --rm -v "$WORK/cases:/cases" "$IMAGE" synth --cases 2 --out /cases/c > /dev/null
START_NS=$(date +%s%N)
CONTAINER=$(docker run -d --network=host -v "$WORK/keys:/keys:ro" -e "RADIAL_PROBE_ADDR=127.0.0.1:$PORT" "$IMAGE" \
    serve --listen "0.0.0.0:$PORT" --api-keys /keys/api-keys.txt)
READY=""
for _ in $(seq 1 400); do
    if curl -fsS "http://127.0.0.1:$PORT/readyz" > /dev/null 2>&1; then
        READY=$((($(date +%s%N) - START_NS) / 1000000))
        break
    fi
    sleep 0.025
done
[ -n "$READY" ] || { echo "/readyz never answered 200" >&2; exit 1; }
echo "   /readyz 200 after $READY ms (docker run to ready)"
curl -fsS -H "Authorization: Bearer $SECRET" "http://127.0.0.1:$PORT/v1/models" > "$WORK/models.json"
MODEL=$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1]))["models"][0]; print(m["name"]); print(m["intended_use"], file=sys.stderr)' "$WORK/models.json")
echo "   serving model $MODEL"
curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/v1/models" | grep -q 401 ||
    { echo "no 401 without a key" >&2; exit 1; }
done_step

step "one job through HTTP vs radial predict"
CASE=$(sed -n 2p "$WORK/cases/c/manifest.csv" | cut -d, -f1)
curl -fsS -H "Authorization: Bearer $SECRET" -H "Prefer: wait=60" \
    -F "model=$MODEL" -F "image=@$WORK/cases/c/images/$CASE.nii.gz" -F "mask=@$WORK/cases/c/masks/$CASE.nii.gz" \
    "http://127.0.0.1:$PORT/v1/jobs" > "$WORK/job.json"
MODEL_FILE=$(docker run --rm --entrypoint sh "$IMAGE" -c 'ls /opt/radial/models/*.model.json | head -n1')
docker run --rm -v "$WORK/cases:/cases" "$IMAGE" predict "$MODEL_FILE" \
    --image "/cases/c/images/$CASE.nii.gz" --mask "/cases/c/masks/$CASE.nii.gz" > "$WORK/predict.csv"
python3 - "$WORK/job.json" "$WORK/predict.csv" << 'PY'
import json, sys
job = json.load(open(sys.argv[1]))
assert job["status"] == "succeeded", job
p = job["result"]["prediction"]
row = open(sys.argv[2]).read().splitlines()[1].split(",")
cli = (float(row[1]), float(row[2]), row[3])
http = (float(p["score"]), float(p["probability"]), p["class"])
print(f"   HTTP {http}\n   CLI  {cli}")
assert http == cli, "the service and radial predict disagree"
PY
done_step

step "HEALTHCHECK"
for _ in $(seq 1 60); do
    HEALTH=$(docker inspect -f '{{.State.Health.Status}}' "$CONTAINER")
    [ "$HEALTH" = healthy ] && break
    sleep 1
done
echo "   health: $HEALTH"
[ "$HEALTH" = healthy ]
done_step
echo "docker-ci: OK"
