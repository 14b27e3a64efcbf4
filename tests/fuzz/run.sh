#!/usr/bin/env bash
# run.sh EXE NAME SOURCE_DIR WORK_ROOT - fuzzes one harness (a meson test
# of the 'fuzz' suite, also used by scripts/fuzz.sh long).
#
# Replays the seeds of SOURCE_DIR/corpus/NAME (crashes found earlier are
# kept there as regression inputs), then fuzzes for $FUZZ_SECONDS seconds
# (default 20) or $FUZZ_RUNS executions, whichever comes first. New
# corpus entries and crashing inputs go to WORK_ROOT/NAME, never to the
# repository. Prints one line of figures; exits non-zero on any finding
# (crash, leak, undefined behaviour, timeout, out of memory).
set -u
exe=$1 name=$2 src=$3 work=$4/$2
secs=${FUZZ_SECONDS:-20}
mkdir -p "$work/corpus" "$work/artifacts" || exit 1
opts=(-max_total_time="$secs" -timeout=10 -rss_limit_mb=2048
  -error_exitcode=77 -timeout_exitcode=78 -print_final_stats=1
  -artifact_prefix="$work/artifacts/")
[ -f "$src/$name.dict" ] && opts+=(-dict="$src/$name.dict")
[ -n "${FUZZ_RUNS:-}" ] && opts+=(-runs="$FUZZ_RUNS")
log=$work/fuzz.log
# Seeds that hold a private key are made here, never committed: a service
# account key file with a fresh 512-bit key, and one with the key cut.
extra=()
if [ "$name" = keyfile ]; then
  gen=$work/generated
  mkdir -p "$gen" || exit 1
  if [ ! -s "$gen/service_account.json" ]; then
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:512 \
      -out "$gen/key.pem" 2>/dev/null || exit 1
    python3 - "$gen" <<'PY' || exit 1
import json, os, sys
d = sys.argv[1]
pem = open(os.path.join(d, "key.pem")).read()
os.remove(os.path.join(d, "key.pem"))
sa = {"type": "service_account", "project_id": "edv-prod-1",
      "private_key_id": "3f1c0e9a7b", "private_key": pem,
      "client_email": "edv-orchestrator@edv-prod-1.iam.gserviceaccount.com",
      "client_id": "1044", "token_uri": "https://oauth2.googleapis.com/token"}
json.dump(sa, open(os.path.join(d, "service_account.json"), "w"))
sa["private_key"] = pem[:60] + "\n-----END PRIVATE KEY-----\n"
json.dump(sa, open(os.path.join(d, "bad_key.json"), "w"))
PY
  fi
  extra=("$gen")
fi
"$exe" "${opts[@]}" "$work/corpus" "$src/corpus/$name" "${extra[@]}" \
  >"$log" 2>&1
rc=$?
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
seeds=$(sed -n 's/.*INITED cov: \([0-9]*\).*/\1/p' "$log" | head -n 1)
cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -c6-)
corpus=$(find "$work/corpus" -type f | wc -l)
echo "fuzz_$name: ${execs:-?} executions, ${eps:-?} exec/s, cov ${seeds:-?} -> ${cov:-?}," \
  "$corpus new corpus entries, ${secs}s, exit $rc" | tee "$work/summary"
if [ "$rc" -ne 0 ]; then
  tail -n 80 "$log"
  echo "crashing input(s): $(ls "$work/artifacts")"
fi
exit "$rc"
