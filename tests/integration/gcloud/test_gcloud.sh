#!/usr/bin/env bash
# gcloud, unchanged, against edv-gcpsim: api_endpoint_overrides plus a
# service-account key written by --key-out (token_uri points at the
# simulator). Skips (a TAP plan of 0 with SKIP, exit 0: meson treats a
# non-zero exit of a TAP test as an error) where gcloud is not installed.
#
# Then the way a user starts it: `edvctl sim start`, and gcloud configured
# only by the lines `edvctl sim env` prints (endpoint overrides, project,
# access-token file), with no gcloud config of its own.
#
# usage: test_gcloud.sh PATH/TO/edv-gcpsim PATH/TO/edvctl
set -u
sim=$1
edvctl=$2
command -v gcloud >/dev/null 2>&1 || { echo "1..0 # SKIP gcloud not installed"; exit 0; }

work=$(mktemp -d)
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null
  [ -n "${pid2:-}" ] && kill "$pid2" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

"$sim" --port 0 --profile fast --key-out "$work/key.json" >"$work/sim.out" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  grep -q '^listening on ' "$work/sim.out" && break
  sleep 0.1
done
url=$(sed -n 's/^listening on //p' "$work/sim.out")
[ -n "$url" ] || { echo "Bail out! simulator did not start"; cat "$work/sim.out"; exit 1; }

export CLOUDSDK_CONFIG="$work/gcloud" CLOUDSDK_CORE_DISABLE_PROMPTS=1
g() { timeout 120 gcloud --quiet "$@"; }
g config set core/project edv-sim >/dev/null 2>&1
g config set core/disable_usage_reporting true >/dev/null 2>&1
g config set component_manager/disable_update_check true >/dev/null 2>&1
g config set api_endpoint_overrides/compute "$url/compute/v1/" >/dev/null 2>&1
g config set api_endpoint_overrides/sql "$url/" >/dev/null 2>&1
g config set api_endpoint_overrides/dns "$url/dns/v1/" >/dev/null 2>&1

n=0 failed=0
check() { # description, command...
  local desc=$1; shift
  n=$((n + 1))
  if out=$("$@" 2>&1); then
    echo "ok $n - $desc"
  else
    failed=$((failed + 1))
    echo "not ok $n - $desc"
    printf '%s\n' "$out" | sed 's/^/# /' | tail -8
  fi
}
expect() { # description, pattern, command...
  local desc=$1 pat=$2; shift 2
  n=$((n + 1))
  out=$("$@" 2>&1)
  if printf '%s' "$out" | grep -qE "$pat"; then
    echo "ok $n - $desc"
  else
    failed=$((failed + 1))
    echo "not ok $n - $desc"
    printf '%s\n' "$out" | sed 's/^/# /' | tail -8
  fi
}

echo "1..22"
check "auth activate-service-account (token from the simulator)" \
  g auth activate-service-account --key-file "$work/key.json"
check "compute networks create" \
  g compute networks create gnet --subnet-mode=custom
check "compute networks subnets create" \
  g compute networks subnets create gsub --network gnet \
    --range 10.5.0.0/24 --region us-central1
check "compute instances create" \
  g compute instances create gvm --zone us-central1-a \
    --machine-type e2-small --subnet gsub --no-address \
    --image-family debian-12 --image-project debian-cloud
expect "compute instances describe" "e2-small" \
  g compute instances describe gvm --zone us-central1-a \
    --format 'value(machineType)'
expect "compute instances list" "gvm" g compute instances list
# gcloud sends these through Compute's batch endpoint (several requests).
expect "compute images list (batch: every public image project)" \
  "debian-12-bookworm-v[0-9]+ +debian-cloud +debian-12 .*READY" \
  g compute images list
expect "compute images list shows the other public projects" \
  "ubuntu-os-cloud.*windows-cloud" \
  sh -c 'timeout 120 gcloud --quiet compute images list --format "value(selfLink)" | tr "\n" " "'
check "compute instance-groups unmanaged create" \
  g compute instance-groups unmanaged create gig --zone us-central1-a
check "compute instance-groups unmanaged add-instances" \
  g compute instance-groups unmanaged add-instances gig \
    --zone us-central1-a --instances gvm
expect "compute instance-groups describe (batch)" "size: 1" \
  g compute instance-groups describe gig --zone us-central1-a
expect "compute instance-groups list-instances (batch)" "gvm +us-central1-a" \
  g compute instance-groups list-instances gig --zone us-central1-a
expect "compute instance-groups unmanaged describe (batch)" "name: gig" \
  g compute instance-groups unmanaged describe gig --zone us-central1-a
check "compute instance-groups unmanaged delete" \
  g compute instance-groups unmanaged delete gig --zone us-central1-a
check "compute instances delete" \
  g compute instances delete gvm --zone us-central1-a
check "sql instances create" \
  g sql instances create gdb --database-version=POSTGRES_15 \
    --tier=db-f1-micro --region=us-central1
expect "sql instances describe" "RUNNABLE" \
  g sql instances describe gdb --format 'value(state)'
check "dns record-sets create" \
  g dns record-sets create www.edvirons.com. --zone=edvirons-com \
    --type=A --ttl=300 --rrdatas=192.0.2.10
expect "dns record-sets list" "192.0.2.10" \
  g dns record-sets list --zone=edvirons-com
# `edvctl sim start` + `eval "$(edvctl sim env)"`, in a fresh gcloud config.
export EDV_STATE_DIR="$work/edv"
"$edvctl" sim start --port 0 >"$work/edv.out" 2>&1 &
pid2=$!
for _ in $(seq 1 100); do
  [ -s "$EDV_STATE_DIR/sim-token" ] && break
  sleep 0.1
done
env_lines=$("$edvctl" sim env)
eval "$env_lines"
export CLOUDSDK_CONFIG="$work/gcloud-env"
expect "sim env: an endpoint override for every API gcloud calls"   "CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE=http://127.0.0.1:[0-9]+/compute/v1/"   printf '%s\n' "$env_lines"
check "sim env: gcloud compute networks create (no gcloud auth step)"   g compute networks create envnet --subnet-mode=custom
expect "sim env: the network is in the simulator's state" '"envnet"'   "$edvctl" sim state --kind 'compute#network'
[ "$failed" -eq 0 ]
