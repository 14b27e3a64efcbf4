#!/usr/bin/env python3
"""Checks docs/openapi.yaml, the Management API's description (TAP).

1. docs/openapi.json is the same document (edvd serves that copy);
2. it is a valid OpenAPI 3.0 document: validated against the OpenAPI
   Initiative's schema (tests/data/openapi/schema-3.0.json);
3. every operation has an operationId, each used once;
4. the routes edvd serves (the api_routes table of src/server/api.c) and the
   operations it describes are the same set, method by method.

Skipped (TAP plan 1..0) when PyYAML or python3-jsonschema is missing.
Regenerate the JSON copy with:
  python3 -c 'import json,yaml; print(json.dumps(yaml.safe_load(open("docs/openapi.yaml")), indent=2))' > docs/openapi.json
"""
import json
import re
import sys

try:
    import yaml
    import jsonschema
except ImportError as e:
    print(f"1..0 # SKIP {e.name} not installed")
    sys.exit(0)  # TAP: a non-zero exit would be an error, not a skip

root = sys.argv[1]
with open(root + "/docs/openapi.yaml", encoding="utf-8") as f:
    y = yaml.safe_load(f)
with open(root + "/docs/openapi.json", encoding="utf-8") as f:
    j = json.load(f)
with open(root + "/tests/data/openapi/schema-3.0.json", encoding="utf-8") as f:
    schema = json.load(f)
with open(root + "/src/server/api.c", encoding="utf-8") as f:
    api_c = f.read()

METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
results = []


def check(ok, name, details=()):
    results.append((ok, name, list(details)))


check(y == j, "openapi.yaml and openapi.json agree",
      [] if y == j else ["docs/openapi.json is out of date: regenerate it"])

errors = sorted(jsonschema.Draft4Validator(schema).iter_errors(y),
                key=lambda e: list(e.absolute_path))
check(not errors, "openapi.yaml is a valid OpenAPI 3.0 document",
      ["/".join(str(p) for p in e.absolute_path) + ": " + e.message[:200]
       for e in errors[:20]])

described = set()
seen = {}
problems = []
for path, item in y.get("paths", {}).items():
    for method, op in item.items():
        if method not in METHODS:
            continue
        described.add((method.upper(), path))
        oid = op.get("operationId")
        if not oid:
            problems.append(f"{method.upper()} {path}: no operationId")
        elif oid in seen:
            problems.append(f"{method.upper()} {path}: operationId {oid} "
                            f"already used by {seen[oid]}")
        else:
            seen[oid] = f"{method.upper()} {path}"
check(not problems, "every operation has its own operationId", problems)

table = re.search(r"api_routes\[\]\s*=\s*\{(.*?)\n\};", api_c, re.S)
served = set(re.findall(r'\{"([A-Z]+)",\s*"([^"]+)"', table.group(1))
             if table else [])
problems = [f"{m} {p}: served by edvd, not in docs/openapi.yaml"
            for m, p in sorted(served - described)]
problems += [f"{m} {p}: in docs/openapi.yaml, not served by edvd"
             for m, p in sorted(described - served)]
if not served:
    problems.append("src/server/api.c: the api_routes table was not found")
check(not problems, "the routes edvd serves are the ones described", problems)

print(f"1..{len(results)}")
for i, (ok, name, details) in enumerate(results, 1):
    print(f"{'ok' if ok else 'not ok'} {i} - {name}")
    for d in details:
        print(f"# {d}")
sys.exit(0 if all(r[0] for r in results) else 1)
