#!/usr/bin/env python3
"""Writes the part of Google's discovery documents the simulator serves.

The conformance test (tests/unit/sim/test_conformance.c) reads the full
documents from ../shared/gcp-discovery when they are beside the source
tree, else this subset under tests/data/discovery/, so a machine without
them still checks every route and response. The subset keeps, of each
document: its top-level fields, the methods the simulator serves (with their
resources' own fields), and every schema those
methods reach through $ref. Nothing is rewritten: kept parts are the
documents' own JSON.

    EDV_CONFORMANCE_LIST=1 build/tests/unit/sim/test-sim-conformance \\
        | scripts/discovery-subset.py ../shared/gcp-discovery tests/data/discovery

reads the served method ids ("# route VERB PATH ID" lines) on stdin.
"""
import json
import os
import sys

DOCS = ["compute.v1.json", "sqladmin.v1.json", "sqladmin.v1beta4.json",
        "dns.v1.json", "certificatemanager.v1.json", "monitoring.v3.json",
        "secretmanager.v1.json", "iam.v1.json",
        "cloudresourcemanager.v1.json", "cloudbilling.v1.json",
        "bigquery.v2.json", "billingbudgets.v1.json"]


def refs(node, out):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                out.add(v)
            else:
                refs(v, out)
    elif isinstance(node, list):
        for v in node:
            refs(v, out)


def prune(resources, served):
    """Resources holding a served method (recursively), whole."""
    kept = {}
    for name, res in resources.items():
        ids = {m.get("id") for m in res.get("methods", {}).values()}
        sub = prune(res.get("resources", {}), served)
        if ids & served or sub:
            r = {k: v for k, v in res.items()
                 if k not in ("resources", "methods")}
            meths = {k: m for k, m in res.get("methods", {}).items()
                     if m.get("id") in served}
            if meths:
                r["methods"] = meths
            if sub:
                r["resources"] = sub
            kept[name] = r
    return kept


def main():
    src, dst = sys.argv[1], sys.argv[2]
    served = set()
    for line in sys.stdin:
        p = line.split()
        if len(p) == 5 and p[0] == "#" and p[1] == "route":
            served.add(p[4])
    if not served:
        sys.exit("no '# route' lines on stdin")
    os.makedirs(dst, exist_ok=True)
    for f in DOCS:
        with open(os.path.join(src, f), encoding="utf-8") as fh:
            doc = json.load(fh)
        out = {k: v for k, v in doc.items() if k not in ("resources", "schemas")}
        out["resources"] = prune(doc.get("resources", {}), served)
        want, seen = set(), set()
        refs(out["resources"], want)
        refs(out.get("parameters", {}), want)
        schemas = doc.get("schemas", {})
        while want - seen:
            name = (want - seen).pop()
            seen.add(name)
            if name in schemas:
                refs(schemas[name], want)
        out["schemas"] = {k: schemas[k] for k in sorted(seen) if k in schemas}
        with open(os.path.join(dst, f), "w", encoding="utf-8") as fh:
            json.dump(out, fh, sort_keys=True, separators=(",", ":"))
            fh.write("\n")
        print(f"{f}: {len(out['schemas'])} schemas, "
              f"{os.path.getsize(os.path.join(dst, f))} bytes")


if __name__ == "__main__":
    main()
