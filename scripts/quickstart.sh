#!/usr/bin/env bash
# The main job on a fresh machine: install what is missing, build, start the
# Google Cloud simulator with a fresh service-account key, and drive it
# through the full engine (JWT-bearer token exchange, rate-limited,
# retrying transport, operation waiters) with edvctl, printing each step.
#
# Tenant provisioning (`edvctl --sim tenant create ...`) replaces the API
# calls below once the tenant machines land; see docs/status.md.
set -eu
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
[ -d build ] || meson setup build >/dev/null
ninja -C build

work=$(mktemp -d)
sim_pid=""
cleanup() {
  [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null && wait "$sim_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

echo "== starting edv-gcpsim (demo profile)"
./build/edv-gcpsim --port 0 --profile demo --key-out "$work/key.json" \
  --state "$work/cloud.json" >"$work/sim.out" 2>&1 &
sim_pid=$!
for _ in $(seq 1 50); do
  grep -q '^listening on ' "$work/sim.out" 2>/dev/null && break
  sleep 0.1
done
url=$(sed -n 's/^listening on //p' "$work/sim.out")
[ -n "$url" ] || { cat "$work/sim.out"; exit 1; }
echo "   simulator at $url"

export EDV_ENDPOINT="$url" EDV_KEY_FILE="$work/key.json" EDV_PROJECT=edv-sim
edvctl=./build/src/cli/edvctl

echo "== access token from the simulator's token endpoint (JWT bearer)"
$edvctl auth print-access-token | cut -c1-12 | sed 's/$/... (truncated)/'

echo "== create the tenant VPC (custom subnet mode) and wait for the operation"
$edvctl api POST /compute/v1/projects/edv-sim/global/networks \
  --data '{"name":"edv-tenants","autoCreateSubnetworks":false,
           "description":"edv-managed"}' --wait >/dev/null
$edvctl api GET /compute/v1/projects/edv-sim/global/networks/edv-tenants

echo "== a second create is refused with the typed error"
if $edvctl api POST /compute/v1/projects/edv-sim/global/networks \
    --data '{"name":"edv-tenants","autoCreateSubnetworks":false}' --wait; then
  echo "unexpected success" >&2; exit 1
fi
echo "== done"
