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
"$exe" "${opts[@]}" "$work/corpus" "$src/corpus/$name" >"$log" 2>&1
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
