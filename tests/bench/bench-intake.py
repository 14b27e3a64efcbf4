#!/usr/bin/env python3
"""edvd's alert intake: what one notification costs.

    tests/bench/bench-intake.py BUILD_DIR [N]      (N: 1000 by default)

Starts edvd --sim with an intake password in a fresh state directory, then
POSTs N incidents' open and closed notifications (2N requests, Monitoring's
webhook schema 1.2, one keep-alive connection, one after another) to
/api/v1/alerts/notifications. Each
notification is one write of the state store (an fsync: the store's
synchronous=FULL), so the figure is mostly the disk's.

Prints figures; asserts nothing but that every notification was recorded.
"""
import base64
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

build = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
top = tempfile.mkdtemp(prefix="edv-bench-intake-")
pw = os.path.join(top, "intake-password")
with open(os.open(pw, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
    f.write("bench-intake-password\n")
conf = os.path.join(top, "edvd.conf")
with open(conf, "w") as f:
    f.write("alerts.intake_password_file = %s\n" % pw)
state = os.path.join(top, "state")
edvd = subprocess.Popen(
    [os.path.join(build, "edvd"), "--sim", "--state-dir", state, "--listen",
     "127.0.0.1:0", "--config", conf],
    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
try:
    port = int(json.loads(edvd.stdout.readline())["listen"].rsplit(":", 1)[1])
    auth = "Basic " + base64.b64encode(
        b"edv-alerts:bench-intake-password").decode()

    def body(i, state):
        return json.dumps({"version": "1.2", "incident": {
            "incident_id": "0.bench%d" % i, "url": "",
            "started_at": 1765000000 + i,
            "ended_at": 1765003600 + i if state == "closed" else None,
            "state": state, "summary": "bench", "observed_value": "0.5",
            "threshold_value": "0.05",
            "resource": {"type": "https_lb_rule", "labels": {
                "backend_target_name": "edv-s%d-be" % (i % 50)}},
            "metric": {"type":
                       "loadbalancing.googleapis.com/https/request_count",
                       "labels": {}},
            "metadata": {"system_labels": {}, "user_labels": {}},
            "policy_name": "edv: application_errors",
            "policy_user_labels": {"edv-alert": "application_errors"},
            "severity": "Error"}})

    c = http.client.HTTPConnection("127.0.0.1", port)
    times = []
    for i in range(n):
        for st in ("open", "closed"):
            t = time.perf_counter()
            c.request("POST", "/api/v1/alerts/notifications", body(i, st),
                      {"Authorization": auth,
                       "Content-Type": "application/json"})
            r = c.getresponse()
            r.read()
            times.append(time.perf_counter() - t)
            if r.status != 200:
                sys.exit("notification %d (%s): HTTP %d" % (i, st, r.status))
    times.sort()
    total = sum(times)
    print("%d notifications in %.2f s: %.0f/s; per notification p50 %.2f ms,"
          " p95 %.2f ms, max %.2f ms" % (
              len(times), total, len(times) / total,
              1000 * times[len(times) // 2],
              1000 * times[int(len(times) * 0.95)], 1000 * times[-1]))
    size = os.path.getsize(os.path.join(state, "edv.db"))
    print("store: %d KiB (with the simulator's platform)" % (size // 1024))
finally:
    edvd.terminate()
    edvd.wait()
    shutil.rmtree(top, ignore_errors=True)
