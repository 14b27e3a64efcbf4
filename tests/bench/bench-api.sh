#!/usr/bin/env bash
# bench-api.sh BUILD_DIR [DURATION] [THREADS] [CONNECTIONS]
#
# The Management API under load, next to nginx serving a static file of
# the same size in the same run: requests/s and latency percentiles from
# wrk for GET /api/tenants/{id}, GET /api/tenants?limit=100 and the static
# file. Builds nothing: BUILD_DIR holds the built edvd and edvctl.
#
# It starts `edvd --sim --profile fast` on a temporary state directory,
# creates 100 tenants through the API and waits until they are READY,
# starts nginx (Debian's nginx-light) on a free port, runs wrk (default
# -t2 -c16 -d10s --latency) against each URL, prints a table, and on any
# exit stops edvd and nginx and removes the temporary directory.
#
# Needs: curl, python3, nginx, wrk (scripts/install-deps.sh installs them).
# The operator token of the run lives only in the temporary directory and
# the environment; wrk gets it from a Lua script, not from its argv.
set -euo pipefail

build=${1:?usage: bench-api.sh BUILD_DIR [DURATION] [THREADS] [CONNECTIONS]}
dur=${2:-10s}
threads=${3:-2}
conns=${4:-16}
edvd="$build/edvd"
edvctl="$build/src/cli/edvctl"
ntenants=100

for t in curl python3 wrk; do
  command -v "$t" >/dev/null || { echo "bench-api: $t is missing (scripts/install-deps.sh)" >&2; exit 2; }
done
nginx=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$nginx" ] || { echo "bench-api: nginx is missing (apt-get install nginx-light)" >&2; exit 2; }
if [ ! -x "$edvd" ] || [ ! -x "$edvctl" ]; then
  echo "bench-api: no edvd/edvctl in '$build'" >&2
  exit 2
fi

tmp=$(mktemp -d)
edvd_pid=""
nginx_pid=""
cleanup() {
  [ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null && wait "$nginx_pid" 2>/dev/null
  [ -n "$edvd_pid" ] && kill "$edvd_pid" 2>/dev/null && wait "$edvd_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# ---- edvd with 100 READY tenants -------------------------------------------
mkdir -p "$tmp/state"
chmod 700 "$tmp/state"
# The simulator answers at once: a real project's client-side budgets
# (Cloud SQL Admin 180 calls a minute...) would only make the set-up wait.
for api in compute sqladmin dns certificatemanager iam secretmanager \
  servicenetworking monitoring; do
  echo "ratelimit.$api.per_minute = 0"
done > "$tmp/edvd.conf"
echo "ratelimit.compute.write.per_minute = 0" >> "$tmp/edvd.conf"
EDV_BENCH_TOKEN=$("$edvctl" token create --role operator --name bench \
  --state-dir "$tmp/state" 2>/dev/null)
export EDV_BENCH_TOKEN
"$edvd" --sim --profile fast --state-dir "$tmp/state" --listen 127.0.0.1:0 \
  --config "$tmp/edvd.conf" >"$tmp/edvd.out" 2>"$tmp/edvd.log" &
edvd_pid=$!
for _ in $(seq 100); do
  [ -s "$tmp/edvd.out" ] && break
  sleep 0.1
done
api=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["listen"])' "$tmp/edvd.out")
sim=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["sim"])' "$tmp/edvd.out")
# The simulated project's default quotas (24 CPUs a region, ...) hold a
# dozen tenants: raise them for the fleet, as bench-tenants does.
for m in CPUS DISKS_TOTAL_GB SSD_TOTAL_GB INSTANCES SUBNETWORKS IN_USE_ADDRESSES; do
  curl -sf -o /dev/null -H 'Content-Type: application/json' \
    -d "{\"metric\":\"$m\",\"region\":\"us-central1\",\"limit\":100000}" "$sim/_sim/quotas"
done
for m in FIREWALLS BACKEND_SERVICES HEALTH_CHECKS SQL_INSTANCES SSL_CERTIFICATES; do
  curl -sf -o /dev/null -H 'Content-Type: application/json' \
    -d "{\"metric\":\"$m\",\"limit\":100000}" "$sim/_sim/quotas"
done
hdr="Authorization: Bearer $EDV_BENCH_TOKEN"
# curl reads the header from a file: the token stays off argv.
printf '%s\n' "$hdr" >"$tmp/auth.hdr"
chmod 600 "$tmp/auth.hdr"
get() { curl -sf -H @"$tmp/auth.hdr" "$api$1"; }

for _ in $(seq 600); do
  get /api/infrastructure/status 2>/dev/null | grep -q '"platform": *"READY"' && break
  sleep 0.1
done
echo "edvd at $api: creating $ntenants tenants" >&2
t0=$(date +%s.%N)
for i in $(seq -f '%03g' 1 "$ntenants"); do
  curl -sf -o /dev/null -H @"$tmp/auth.hdr" -H 'Content-Type: application/json' \
    -d "{\"id\":\"bench$i\",\"slug\":\"bench-school-$i\",\"display_name\":\"Bench School $i\",\"tier\":\"basic\",\"region\":\"us-central1\"}" \
    "$api/api/tenants"
done
ready=0
count() { get "/api/tenants?state=$1&limit=1000" |
  python3 -c 'import json,sys; print(len(json.load(sys.stdin)["tenants"]))'; }
for _ in $(seq 1200); do
  ready=$(count READY)
  [ "$ready" -ge "$ntenants" ] && break
  failed=$(count FAILED)
  if [ "$failed" -ne 0 ]; then
    echo "bench-api: $failed tenant(s) FAILED; the end of edvd's log:" >&2
    tail -5 "$tmp/edvd.log" >&2
    exit 1
  fi
  sleep 0.5
done
[ "$ready" -ge "$ntenants" ] || { echo "bench-api: only $ready of $ntenants READY" >&2; exit 1; }
t1=$(date +%s.%N)
echo "$ntenants tenants READY in $(python3 -c "print(f'{$t1-$t0:.1f}')")s" >&2

# ---- nginx serving a tenant's answer as a static file ---------------------
mkdir -p "$tmp/www" "$tmp/nginx"
get /api/tenants/bench050 >"$tmp/www/tenant.json"
list_bytes=$(get "/api/tenants?limit=100" | wc -c)
one_bytes=$(wc -c <"$tmp/www/tenant.json")
# nginx's workers run as an unprivileged user: let them reach the file.
chmod 711 "$tmp"
chmod 755 "$tmp/www"
chmod 644 "$tmp/www/tenant.json"
nport=$(free_port)
cat >"$tmp/nginx/nginx.conf" <<EOF
worker_processes 1;
error_log $tmp/nginx/error.log;
pid $tmp/nginx/nginx.pid;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $tmp/nginx/body;
  proxy_temp_path $tmp/nginx/proxy;
  fastcgi_temp_path $tmp/nginx/fastcgi;
  uwsgi_temp_path $tmp/nginx/uwsgi;
  scgi_temp_path $tmp/nginx/scgi;
  types { application/json json; }
  server {
    listen 127.0.0.1:$nport;
    root $tmp/www;
  }
}
EOF
"$nginx" -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" -g 'daemon off;' \
  2>"$tmp/nginx/stderr.log" &
nginx_pid=$!
for _ in $(seq 50); do
  curl -sf -o /dev/null "http://127.0.0.1:$nport/tenant.json" && break
  sleep 0.1
done

# ---- wrk ---------------------------------------------------------------------
cat >"$tmp/auth.lua" <<'EOF'
wrk.headers["Authorization"] = "Bearer " .. os.getenv("EDV_BENCH_TOKEN")
EOF
results=()
run() { # NAME URL
  local out rps p50 p90 p99 errs
  out=$(wrk -t"$threads" -c"$conns" -d"$dur" --latency -s "$tmp/auth.lua" "$2")
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p90=$(awk '$1=="90%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  errs=$(awk '/Non-2xx or 3xx responses:/ {print $5}' <<<"$out")
  results+=("$(printf '%-34s %10s %9s %9s %9s %8s' "$1" "$rps" "$p50" "$p90" "$p99" "${errs:-0}")")
}
echo "wrk -t$threads -c$conns -d$dur --latency (keep-alive), one run each" >&2
run "edvd GET /api/tenants/{id}" "$api/api/tenants/bench050"
run "edvd GET /api/tenants?limit=100" "$api/api/tenants?limit=100"
run "nginx static file" "http://127.0.0.1:$nport/tenant.json"

printf '%-34s %10s %9s %9s %9s %8s\n' "TARGET" "REQ/S" "P50" "P90" "P99" "NON-2XX"
printf '%s\n' "${results[@]}"
printf 'answer sizes: one tenant %s bytes (and the static file), list of 100 %s bytes\n' \
  "$one_bytes" "$list_bytes"
printf 'machine: %s CPU(s), %s\n' "$(nproc)" "$(uname -sr)"
