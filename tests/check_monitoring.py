#!/usr/bin/env python3
"""Checks the monitoring examples: examples/prometheus/edvd-rules.yml and
examples/grafana/edvd-dashboard.json.

    check_monitoring.py SOURCE_ROOT
        The dashboard is valid JSON and a well-formed Grafana dashboard
        (unique panel ids, a PromQL expression in every target, its
        variables defined); the rules file is YAML of alerting rules, each
        with a severity and a summary.
    check_monitoring.py --promtool SOURCE_ROOT
        `promtool check rules` on the rules and `promtool test rules` on
        their unit tests (every alert made to fire). Exit 77 (skipped) when
        promtool is not installed, except under CI (CI=true), where it
        fails: scripts/install-deps.sh installs it (Debian's prometheus).
    check_monitoring.py --scrape FILE SOURCE_ROOT
        FILE is edvd's /metrics: every metric the rules and the dashboard
        name is a family it exports (a histogram's _bucket/_sum/_count
        included), and every label they select or group by is one of the
        family's (or the target's job/instance); with promtool installed,
        `promtool check metrics` on FILE as well. This is what fails when a
        metric or a label is renamed in edvd and not here.

Prints TAP; exits non-zero on any problem.
"""
import json
import os
import re
import shutil
import subprocess
import sys

import yaml

RULES = os.path.join("examples", "prometheus", "edvd-rules.yml")
RULES_TEST = os.path.join("examples", "prometheus", "edvd-rules.test.yml")
DASHBOARD = os.path.join("examples", "grafana", "edvd-dashboard.json")
# Series Prometheus makes itself for every target, not edvd's.
PROMETHEUS_SERIES = {"up"}
TARGET_LABELS = {"job", "instance"}
KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring",
            "group_left", "group_right", "bool", "offset", "inf", "nan"}
IDENT = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
SELECTOR = re.compile(r"(" + IDENT + r")?\s*\{([^}]*)\}")
MATCHER = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)\s*\"")
GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)"
                      r"\s*\(([^)]*)\)")
STRING = re.compile(r"\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'")


def refs(expr):
    """(metrics, labels) that a PromQL expression names: metric names,
    and the labels of its matchers and grouping clauses, by metric (None:
    labels not tied to one metric, as in by (...))."""
    metrics, labels = set(), []
    for m in SELECTOR.finditer(expr):
        names = set(MATCHER.findall(m.group(2)))
        if m.group(1):
            labels.append((m.group(1), names))
    rest = SELECTOR.sub(lambda m: (m.group(1) or "") + " ", expr)
    rest = STRING.sub(" ", rest)
    rest = re.sub(r"\[[^\]]*\]", " ", rest)
    for m in GROUPING.finditer(rest):
        names = {n.strip() for n in m.group(2).split(",") if n.strip()}
        labels.append((None, names))
    rest = GROUPING.sub(" ", rest)
    for m in re.finditer(r"(?<![\w.])(" + IDENT + r")(\s*\()?", rest):
        name = m.group(1)
        if m.group(2) or name.lower() in KEYWORDS:
            continue
        metrics.add(name)
    return metrics, labels


def grafana_query(q):
    """The PromQL inside a variable query: label_values(EXPR, label)."""
    m = re.match(r"\s*label_values\((.*),\s*([a-zA-Z_][a-zA-Z0-9_]*)\)\s*$", q)
    if m:
        return m.group(1), m.group(2)
    return q, None


def expressions(root):
    """Every PromQL expression of the examples, as (where, expr)."""
    out = []
    with open(os.path.join(root, RULES), encoding="utf-8") as f:
        rules = yaml.safe_load(f)
    for g in rules["groups"]:
        for r in g["rules"]:
            out.append((f"rule {r.get('alert') or r.get('record')}", r["expr"]))
    with open(os.path.join(root, DASHBOARD), encoding="utf-8") as f:
        dash = json.load(f)
    for p in dash.get("panels", []):
        for t in p.get("targets", []):
            out.append((f"panel {p['id']} ({p['title']}) {t['refId']}",
                        t["expr"]))
    for v in dash.get("templating", {}).get("list", []):
        if v.get("type") == "query":
            q = v["query"]["query"] if isinstance(v["query"], dict) \
                else v["query"]
            expr, label = grafana_query(q)
            out.append((f"variable {v['name']}", expr))
            if label:
                out.append((f"variable {v['name']} label",
                            f"sum by ({label}) ({expr})"))
    return out


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, what, why=""):
        self.n += 1
        if cond:
            print(f"ok {self.n} - {what}")
        else:
            self.failed += 1
            print(f"not ok {self.n} - {what}")
            for line in str(why).splitlines():
                print(f"# {line}")

    def end(self):
        print(f"1..{self.n}")
        return 1 if self.failed else 0


def check_files(root, tap):
    with open(os.path.join(root, DASHBOARD), encoding="utf-8") as f:
        try:
            dash = json.load(f)
        except ValueError as e:
            tap.ok(False, "dashboard is JSON", e)
            return
    tap.ok(True, "dashboard is JSON")
    tap.ok(dash.get("title") and dash.get("uid"), "dashboard has a title "
           "and a uid")
    panels = dash.get("panels", [])
    ids = [p.get("id") for p in panels]
    tap.ok(len(ids) == len(set(ids)) and None not in ids,
           "every panel has its own id", ids)
    defined = {v["name"] for v in dash.get("templating", {}).get("list", [])}
    bad = []
    for p in panels:
        g = p.get("gridPos", {})
        if not (0 <= g.get("x", -1) and g.get("x", 0) + g.get("w", 99) <= 24):
            bad.append(f"panel {p.get('id')}: gridPos {g}")
        if p.get("type") == "row":
            continue
        if not p.get("targets"):
            bad.append(f"panel {p.get('id')}: no target")
        for t in p.get("targets", []):
            if not t.get("expr") or not t.get("refId"):
                bad.append(f"panel {p.get('id')}: target without expr/refId")
    text = json.dumps(dash)
    for var in set(re.findall(r"\$\{?([a-zA-Z_]\w*)", text)):
        if var not in defined and not var.startswith("__"):
            bad.append(f"variable ${var} is not defined")
    tap.ok(not bad, "dashboard panels, targets and variables", "\n".join(bad))

    with open(os.path.join(root, RULES), encoding="utf-8") as f:
        rules = yaml.safe_load(f)
    bad = []
    names = set()
    for g in rules.get("groups", []):
        for r in g.get("rules", []):
            a = r.get("alert")
            if not a or not r.get("expr"):
                bad.append(f"{r}: not an alerting rule")
                continue
            if a in names:
                bad.append(f"{a}: twice")
            names.add(a)
            if r.get("labels", {}).get("severity") not in ("critical",
                                                           "warning", "info"):
                bad.append(f"{a}: severity not critical/warning/info")
            if not r.get("annotations", {}).get("summary"):
                bad.append(f"{a}: no summary")
    tap.ok(names and not bad, f"{len(names)} alerting rules well formed",
           "\n".join(bad))
    with open(os.path.join(root, RULES_TEST), encoding="utf-8") as f:
        tests = yaml.safe_load(f)
    fired = set()
    for t in tests.get("tests", []):
        for a in t.get("alert_rule_test", []):
            if a.get("exp_alerts"):
                fired.add(a["alertname"])
    tap.ok(fired == names, "every alert fires in edvd-rules.test.yml",
           f"never fired: {sorted(names - fired)}; "
           f"unknown: {sorted(fired - names)}")


def promtool_run(tap, what, args, cwd=None):
    r = subprocess.run(args, capture_output=True, text=True, cwd=cwd,
                       timeout=120)
    tap.ok(r.returncode == 0, what, r.stdout + r.stderr)


def check_promtool(root, tap):
    promtool = shutil.which("promtool")
    if not promtool:
        if os.environ.get("CI") == "true":
            tap.ok(False, "promtool installed",
                   "promtool is missing (scripts/install-deps.sh installs "
                   "Debian's prometheus)")
            return
        print("1..0 # SKIP promtool is not installed (Debian: prometheus)")
        sys.exit(77)
    promtool_run(tap, "promtool check rules",
                 [promtool, "check", "rules", os.path.join(root, RULES)])
    promtool_run(tap, "promtool test rules (every alert fires)",
                 [promtool, "test", "rules", os.path.basename(RULES_TEST)],
                 cwd=os.path.join(root, os.path.dirname(RULES_TEST)))


def parse_scrape(text):
    """{family: (type, set of label names seen)} of a text exposition."""
    fams = {}
    for line in text.splitlines():
        m = re.match(r"# TYPE (" + IDENT + r") (\w+)$", line)
        if m:
            fams[m.group(1)] = (m.group(2), set())
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r"(" + IDENT + r")(\{([^}]*)\})?\s", line)
        if not m:
            continue
        name = m.group(1)
        fam = family(fams, name)
        if fam:
            fams[fam][1].update(MATCHER.findall(m.group(3) or ""))
    return fams


def family(fams, name):
    if name in fams:
        return name
    for suffix in ("_bucket", "_sum", "_count"):
        base = name[:-len(suffix)]
        if name.endswith(suffix) and fams.get(base, ("",))[0] in (
                "histogram", "summary"):
            return base
    return None


def check_scrape(root, path, tap):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    fams = parse_scrape(text)
    tap.ok(fams, f"{path}: {len(fams)} metric families")
    for where, expr in expressions(root):
        metrics, labels = refs(expr)
        missing = [m for m in sorted(metrics)
                   if m not in PROMETHEUS_SERIES and not family(fams, m)]
        # The labels of the expression's metrics (when edvd has samples of
        # them: an empty family's labels are not known).
        known, seen = set(TARGET_LABELS), True
        for m in metrics:
            fam = family(fams, m)
            if fam:
                known |= fams[fam][1]
                if fams[fam][0] in ("histogram", "summary"):
                    known.add("le")
                seen = seen and bool(fams[fam][1])
        unknown = []
        for m, names in labels:
            fam = family(fams, m) if m else None
            if fam:
                ok = fams[fam][1] | TARGET_LABELS
                if fams[fam][1]:
                    unknown += [f"{m}{{{n}}}" for n in names if n not in ok]
            elif m is None and seen:
                unknown += [n for n in names if n not in known]
        tap.ok(not missing and not unknown,
               f"{where}: {', '.join(sorted(metrics)) or 'no metric'}",
               f"not exported by edvd: {missing}; unknown labels: {unknown}"
               f"\nexpr: {expr}")
    promtool = shutil.which("promtool")
    if promtool:
        r = subprocess.run([promtool, "check", "metrics"], input=text,
                           capture_output=True, text=True, timeout=60)
        tap.ok(r.returncode == 0, "promtool check metrics on the scrape",
               r.stdout + r.stderr)
    else:
        print("# promtool is not installed: the scrape's lint is skipped")


def main():
    args = sys.argv[1:]
    tap = Tap()
    if args[:1] == ["--promtool"]:
        check_promtool(args[1], tap)
    elif args[:1] == ["--scrape"]:
        check_scrape(args[2], args[1], tap)
    elif len(args) == 1:
        check_files(args[0], tap)
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return tap.end()


if __name__ == "__main__":
    sys.exit(main())
