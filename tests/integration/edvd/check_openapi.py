#!/usr/bin/env python3
"""Checks docs/openapi.yaml, the Management API's description (TAP).

1. docs/openapi.json is the same document (edvd serves that copy);
2. it is a valid OpenAPI 3.0 document: validated against the OpenAPI
   Initiative's schema (tests/data/openapi/schema-3.0.json);
3. every operation has an operationId, each used once;
4. the routes edvd serves (the api_routes table of src/server/api.c) and the
   operations it describes are the same set, method by method;
5. every JSON request body and JSON success answer has an example, and
   every example is valid against its schema (nullable and $ref as
   OpenAPI 3.0 means them).

Skipped (TAP plan 1..0) when PyYAML or python3-jsonschema is missing.
Regenerate the JSON copy with:
  python3 -c 'import json,yaml; print(json.dumps(yaml.safe_load(open("docs/openapi.yaml")), indent=2))' > docs/openapi.json
"""
import json
import re
import sys
import warnings

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



def to_jsonschema(s):
    """An OpenAPI 3.0 schema object as JSON Schema (draft 4): `nullable`
    becomes a null alternative; the rest is the same vocabulary."""
    if isinstance(s, list):
        return [to_jsonschema(x) for x in s]
    if not isinstance(s, dict):
        return s
    out = {k: to_jsonschema(v) for k, v in s.items()
           if k not in ("nullable", "example", "description", "format",
                        "properties")}
    if "properties" in s:  # a map of names: any name, "description" too
        out["properties"] = {k: to_jsonschema(v)
                             for k, v in s["properties"].items()}
    if s.get("nullable"):
        return {"anyOf": [out, {"type": "null"}]}
    return out


warnings.simplefilter("ignore", DeprecationWarning)  # RefResolver, 4.18+
root_schema = {"components": to_jsonschema(y.get("components", {}))}
resolver = jsonschema.RefResolver.from_schema(root_schema)
problems = []
examples = 0


def check_example(where, media):
    global examples
    schema = media.get("schema")
    if schema is None:
        return
    if "example" not in media:
        problems.append(f"{where}: no example")
        return
    examples += 1
    v = jsonschema.Draft4Validator(to_jsonschema(schema), resolver=resolver)
    for e in list(v.iter_errors(media["example"]))[:3]:
        problems.append(f"{where}: example: "
                        f"{'/'.join(str(p) for p in e.absolute_path)}: "
                        f"{e.message[:160]}")


for path, item in y.get("paths", {}).items():
    for method, op in item.items():
        if method not in METHODS:
            continue
        where = f"{method.upper()} {path}"
        body = op.get("requestBody", {}).get("content", {})
        if "application/json" in body:
            check_example(where + " request", body["application/json"])
        for code, r in op.get("responses", {}).items():
            if not str(code).startswith("2") or "$ref" in r:
                continue
            media = r.get("content", {}).get("application/json")
            if media:
                check_example(f"{where} {code}", media)
check(not problems and examples > 0,
      f"every request and success answer has a valid example ({examples})",
      problems)

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
