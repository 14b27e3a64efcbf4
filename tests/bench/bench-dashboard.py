#!/usr/bin/env python3
"""The dashboard at N tenants: bytes and time of what one page load takes.

    tests/bench/bench-dashboard.py BUILD_DIR [N]      (N: 1000 by default)

Makes a fleet of N tenants without provisioning N: edvd --sim provisions
one tenant, its store is exported, the tenant cloned N-1 times as FAILED
tenants (the reconcile and drift passes leave those alone; the dashboard
lists them like any other) and imported into a fresh state directory
beside the same simulated cloud. Then, against edvd --sim on that state:

- the bytes of the dashboard's files and of the API answers one refresh
  of the fleet page reads (every page of GET /api/tenants, status, costs,
  releases), and the time edvd takes to answer each;
- headless Chromium loading the fleet page (median of 3 runs, from the
  browser's start to the DOM dumped with every row rendered: wall time,
  and CPU time of all the browser's processes, which the machine's load
  sways less) at N tenants and, for comparison, against the one-tenant
  fleet it started from.

Prints figures; asserts nothing but that the page rendered N rows.
"""
import json
import resource
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

build = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
edvd_bin = os.path.join(build, "edvd")
edvctl = os.path.join(build, "src", "cli", "edvctl")
chromium = os.environ.get("EDV_CHROMIUM") or shutil.which("chromium")
if not chromium:
    sys.exit("bench-dashboard: chromium is not installed")
env = dict(os.environ, EDV_SIM="1")


def start(state):
    p = subprocess.Popen([edvd_bin, "--sim", "--state-dir", state, "--listen",
                          "127.0.0.1:0", "--config", state + "/edvd.conf"],
                         stdout=subprocess.PIPE,
                         stderr=open(state + "/edvd.log", "a"), env=env)
    base = json.loads(p.stdout.readline())["listen"]
    return p, base


def stop(p):
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=30)


def get(base, path, token, body=None):
    req = urllib.request.Request(base + path, data=body, headers={
        "Authorization": "Bearer " + token,
        "Content-Type": "application/json"})
    t0 = time.monotonic()
    with urllib.request.urlopen(req, timeout=60) as r:
        data = r.read()
    return data, time.monotonic() - t0


def token(state, role):
    return subprocess.run([edvctl, "token", "create", "--role", role, "--name",
                           role, "--state-dir", state], capture_output=True,
                          text=True, check=True, env=env).stdout.strip()


def browse(base, tok, workdir):
    prof = tempfile.mkdtemp(dir=workdir)
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    dom = subprocess.run(
        [chromium, "--headless=new", "--no-sandbox", "--disable-gpu",
         "--disable-dev-shm-usage", "--no-first-run", "--disable-extensions",
         "--user-data-dir=" + prof, "--window-size=1280,1400",
         "--virtual-time-budget=3000", "--dump-dom",
         base + "/dashboard/#token=" + tok],
        capture_output=True, text=True, timeout=120).stdout
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)
    return time.monotonic() - t0, cpu, dom


def page_figures(base, tok, workdir, label, want_rows):
    runs, cpus = [], []
    for _ in range(3):
        secs, cpu, dom = browse(base, tok, workdir)
        rows = dom.count("<tr data-tenant=")
        if rows != want_rows:
            sys.exit(f"bench-dashboard: {rows} rows rendered, want {want_rows}")
        runs.append(secs)
        cpus.append(cpu)
    print(f"chromium, fleet page, {label}: median {statistics.median(runs):.2f}"
          f" s wall (runs: {', '.join(f'{r:.2f}' for r in runs)}), "
          f"{statistics.median(cpus):.2f} s CPU (all its processes), DOM "
          f"{len(dom) / 1024:.0f} KiB; load average "
          f"{os.getloadavg()[0]:.1f}")


work = tempfile.mkdtemp(prefix="bench-dashboard-")
one, many = work + "/one", work + "/many"
os.makedirs(one)
os.makedirs(many)
for d in (one, many):
    with open(d + "/edvd.conf", "w") as f:
        f.write("server.health_interval_s = 3600\n")
op = token(one, "operator")
view = token(one, "viewer")
p, base = start(one)
try:
    for _ in range(600):
        st = json.loads(get(base, "/api/infrastructure/status", view)[0])
        if st.get("platform") == "READY":
            break
        time.sleep(0.1)
    spec = {"id": "bench0000", "slug": "bench-0000",
            "display_name": "Bench School 0", "tier": "basic",
            "region": "us-central1"}
    get(base, "/api/tenants", op, json.dumps(spec).encode())
    for _ in range(1200):
        t = json.loads(get(base, "/api/tenants/bench0000", view)[0])
        if t["phase"] == "READY":
            break
        time.sleep(0.1)
    page_figures(base, view, work, "1 tenant", 1)
finally:
    stop(p)

exp = work + "/export.json"
subprocess.run([edvctl, "state", "export", exp, "--state-dir", one],
               check=True, env=env, capture_output=True)
with open(exp) as f:
    doc = json.load(f)
real = next(t for t in doc["tenants"] if t["id"] == "bench0000")
tiers = ["basic", "standard", "premium", "enterprise"]
regions = ["us-central1", "europe-west1", "asia-south1"]
for i in range(1, n):
    t = json.loads(json.dumps(real))
    tid = f"bench{i:04d}"
    t.update(id=tid, slug=f"bench-{i:04d}", tier=tiers[i % 4], subnet=None,
             phase="FAILED", last_error="cloned by bench-dashboard")
    t["spec"].update(id=tid, slug=t["slug"], tier=t["tier"],
                     region=regions[i % 3],
                     display_name=f"Bench School {i}")
    doc["tenants"].append(t)
with open(exp, "w") as f:
    json.dump(doc, f)
for name in ("sim-cloud.json", "sim-key.json", "api-tokens.json"):
    if os.path.exists(os.path.join(one, name)):
        shutil.copy2(os.path.join(one, name), os.path.join(many, name))
subprocess.run([edvctl, "state", "import", exp, "--state-dir", many],
               check=True, env=env, capture_output=True)

p, base = start(many)
try:
    total = lst = 0
    print(f"fleet of {n} tenants (1 READY, {n - 1} FAILED clones)")
    for name in ("", "app.js", "dashboard.css", "chart.js"):
        size = len(urllib.request.urlopen(base + "/dashboard/" + name).read())
        total += size
        print(f"  /dashboard/{name or '(index.html)'}: {size / 1024:.1f} KiB")
    static = total
    for path in ("/api/tenants?limit=1000", "/api/infrastructure/status",
                 "/api/infrastructure/costs", "/api/releases"):
        page, calls, secs, size = path, 0, 0.0, 0
        while page:
            data, s = get(base, page, view)
            calls, secs, size = calls + 1, secs + s, size + len(data)
            nxt = json.loads(data).get("next_page_token")
            page = (path + "&page_token=" + nxt) if nxt else None
        total += size
        lst = size if path.startswith("/api/tenants") else lst
        print(f"  {path}: {size / 1024:.1f} KiB in {calls} call(s), "
              f"{secs * 1000:.1f} ms")
    every = 6 if n > 200 else 1  # app.js: LARGE_FLEET, LARGE_EVERY
    print(f"first load: {total / 1024:.0f} KiB ({static / 1024:.0f} KiB of "
          f"files, sent once: ETag); then every 5 s "
          f"{(total - static - lst) / 1024:.1f} KiB and the list every "
          f"{5 * every} s: {(total - static - lst + lst / every) / 5 / 1024:.1f}"
          f" KiB/s on average")
    page_figures(base, view, work, f"{n} tenants", n)
finally:
    if os.environ.get("BENCH_KEEP"):  # leave edvd running, for a look
        print(f"BENCH_KEEP: edvd pid {p.pid} at {base}/dashboard/, viewer "
              f"token in {work}/viewer.token")
        with open(work + "/viewer.token", "w") as f:
            f.write(view)
    else:
        stop(p)
        shutil.rmtree(work, ignore_errors=True)
