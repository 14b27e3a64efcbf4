#!/usr/bin/env bash
# The quickstart: install what is missing, build, and provision the seed's
# example tenant on the embedded Google Cloud simulator, the way an operator
# would on Google Cloud:
#
#   edvctl --sim platform init            (shared VPC, load balancer, ...)
#   ./provision-tenant.sh "school001" "greenwood-high" \
#       "Greenwood High School" "premium" "us-central1"
#   edvctl --sim tenant get school001     (URL, VM, database, certificate,
#                                          monthly cost)
#
# The simulator runs inside edvctl (--sim, here EDV_SIM=1) with its cloud
# kept in a scratch state directory, recreated on every run so reruns work:
# BUILD/quickstart-state. The tenant is provisioned with the simulator's
# `demo` latency profile so the progress is visible (about 40 s); the
# platform with `fast`.
#
# Knobs (all optional): EDV_BUILD_DIR (default build), EDV_SKIP_DEPS=1 (do
# not check packages), EDV_SKIP_BUILD=1 (use the binaries already in
# EDV_BUILD_DIR), QUICKSTART_STATE (state directory), QUICKSTART_PROFILE
# (simulator profile of the tenant run: demo, fast or realistic).
set -eu
cd "$(dirname "$0")/.."

build=${EDV_BUILD_DIR:-build}
state=${QUICKSTART_STATE:-$build/quickstart-state}
profile=${QUICKSTART_PROFILE:-demo}

if [ "${EDV_SKIP_DEPS:-0}" != 1 ]; then
  bash scripts/install-deps.sh
fi
if [ "${EDV_SKIP_BUILD:-0}" != 1 ]; then
  echo "== build ($build)"
  mkdir -p "$build"
  log=$build/quickstart-build.log
  if ! { [ -f "$build/build.ninja" ] || meson setup "$build"; } >"$log" 2>&1 ||
    ! ninja -C "$build" >>"$log" 2>&1; then
    tail -n 40 "$log"
    echo "quickstart: the build failed (log: $log)" >&2
    exit 1
  fi
fi

edvctl=$build/src/cli/edvctl
[ -x "$edvctl" ] || { echo "quickstart: $edvctl was not built" >&2; exit 1; }
rm -rf "$state"
mkdir -p "$state"
state=$(cd "$state" && pwd)

# Everything below talks to the embedded simulator, its cloud in $state.
# No configuration, credentials or state of the machine's user may leak in.
unset EDV_CONFIG EDV_ENDPOINT EDV_PROJECT EDV_KEY_FILE EDV_FORMAT EDV_QUIET \
  GOOGLE_APPLICATION_CREDENTIALS
export EDV_SIM=1 EDV_STATE_DIR="$state" EDVCTL="$edvctl"
start=$(date +%s)

echo "== edvctl --sim platform init"
EDV_SIM_PROFILE=fast "$edvctl" platform init

echo
echo "== ./provision-tenant.sh \"school001\" \"greenwood-high\"" \
  "\"Greenwood High School\" \"premium\" \"us-central1\""
echo "   (the simulator's $profile profile)"
EDV_SIM_PROFILE=$profile ./provision-tenant.sh "school001" "greenwood-high" \
  "Greenwood High School" "premium" "us-central1" >/dev/null

echo
echo "== edvctl --sim tenant get school001"
EDV_SIM_PROFILE=fast "$edvctl" tenant get school001

# A sudo run leaves the state to the user who asked for it, for the tour.
if [ "$(id -u)" -eq 0 ] && [ -n "${SUDO_USER:-}" ]; then
  chown -R "$SUDO_USER" "$state" 2>/dev/null || true
fi

echo
echo "== READY in $(($(date +%s) - start)) s. Take the tour (README.md) with:"
echo "   export EDV_SIM=1 EDV_STATE_DIR=$state"
echo "   export PATH=$(cd "$build/src/cli" && pwd):\$PATH"
echo "   edvctl tenant list"
