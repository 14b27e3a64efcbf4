#!/usr/bin/env bash
# provision-tenant.sh - the seed's provisioning entry point, kept as it was
# promised (seed/edvirons-iac.md, "Tenant Provisioning Workflow"):
#
#   ./provision-tenant.sh "school001" "greenwood-high" "Greenwood High School" \
#       "premium" "us-central1"
#
# It delegates to `edvctl tenant create ID SLUG NAME TIER REGION --wait`:
# the tenant is validated (nothing is created when an argument is wrong),
# recorded, provisioned step by step with progress, and its summary printed.
#
# edvctl is found as $EDVCTL, else in PATH, else in the build directory next
# to this script (build/src/cli/edvctl). Everything else is edvctl's
# configuration: EDV_* variables (EDV_SIM=1 for the embedded simulator,
# EDV_PROJECT, EDV_KEY_FILE, EDV_STATE_DIR, EDV_SIM_PROFILE, EDV_CONFIG, ...;
# see docs/cli.md), or extra edvctl flags in $EDVCTL_FLAGS.
#
# Exit status: edvctl's (0 READY, 2 bad arguments, 4 conflict, 5 API
# failure, 6 credentials, 7 interrupted; docs/cli.md), 2 for a wrong number
# of arguments, 127 when edvctl cannot be found.
set -u

usage() {
  cat >&2 <<'EOF'
usage: provision-tenant.sh TENANT_ID SLUG "DISPLAY NAME" TIER REGION

  TENANT_ID     tenant id, e.g. school001 ([a-z][a-z0-9-]*, 2-26 characters)
  SLUG          URL slug, e.g. greenwood-high
  DISPLAY NAME  the school's name, e.g. "Greenwood High School"
  TIER          basic, standard, premium or enterprise (tiers.json)
  REGION        Google Cloud region, e.g. us-central1

example:
  ./provision-tenant.sh "school001" "greenwood-high" "Greenwood High School" \
      "premium" "us-central1"

environment:
  EDVCTL        the edvctl binary (default: PATH, then build/src/cli/edvctl)
  EDVCTL_FLAGS  extra edvctl flags, e.g. "--format json" or "-q"
  EDV_SIM=1     provision on the embedded simulator instead of Google Cloud
  EDV_*         any edvctl setting: EDV_PROJECT, EDV_KEY_FILE, EDV_STATE_DIR,
                EDV_CONFIG, EDV_SIM_PROFILE, ... (docs/cli.md, docs/config.md)
EOF
}

if [ "$#" -eq 1 ] && { [ "$1" = "-h" ] || [ "$1" = "--help" ]; }; then
  usage
  exit 0
fi
if [ "$#" -ne 5 ]; then
  echo "provision-tenant.sh: expected 5 arguments, got $#" >&2
  usage
  exit 2
fi
for arg in "$@"; do
  if [ -z "$arg" ]; then
    echo "provision-tenant.sh: arguments must not be empty" >&2
    usage
    exit 2
  fi
done

here=$(cd "$(dirname "$0")" && pwd)
edvctl=${EDVCTL:-}
if [ -z "$edvctl" ]; then
  if command -v edvctl >/dev/null 2>&1; then
    edvctl=$(command -v edvctl)
  elif [ -x "$here/build/src/cli/edvctl" ]; then
    edvctl=$here/build/src/cli/edvctl
  fi
fi
if [ -z "$edvctl" ] || [ ! -x "$edvctl" ]; then
  echo "provision-tenant.sh: edvctl not found (set EDVCTL, put it in PATH," \
    "or build it: meson setup build && ninja -C build)" >&2
  exit 127
fi

# EDVCTL_FLAGS is split on spaces on purpose (flags only, no values with
# spaces); the five arguments are passed as they are.
# shellcheck disable=SC2086
exec "$edvctl" ${EDVCTL_FLAGS:-} tenant create "$1" "$2" "$3" "$4" "$5" --wait
