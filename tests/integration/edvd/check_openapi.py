#!/usr/bin/env python3
"""docs/openapi.yaml and docs/openapi.json must describe the same API.

Exit 77 (skipped) when PyYAML is missing. Regenerate the JSON copy with:
  python3 -c 'import json,yaml; print(json.dumps(yaml.safe_load(open("docs/openapi.yaml")), indent=2))' > docs/openapi.json
"""
import json
import sys

try:
    import yaml
except ImportError:
    print("1..0 # SKIP PyYAML not installed")
    sys.exit(0)  # TAP: a non-zero exit would be an error, not a skip

root = sys.argv[1]
with open(root + "/docs/openapi.yaml", encoding="utf-8") as f:
    y = yaml.safe_load(f)
with open(root + "/docs/openapi.json", encoding="utf-8") as f:
    j = json.load(f)
print("1..1")
if y == j:
    print("ok 1 - openapi.yaml and openapi.json agree")
    sys.exit(0)
print("not ok 1 - docs/openapi.json is out of date with docs/openapi.yaml")
sys.exit(1)
