#!/usr/bin/env python3
"""Embeds a JSON file as a C string: embed_json.py IN OUT SYMBOL.

Used at build time to serve docs/openapi.json from edvd (/api/openapi.json).
The JSON is parsed (a malformed document fails the build) and re-emitted
compactly, so the served text is canonical.
"""
import json
import sys

src, dst, sym = sys.argv[1], sys.argv[2], sys.argv[3]
with open(src, encoding="utf-8") as f:
    text = json.dumps(json.load(f), separators=(",", ":"), ensure_ascii=True)
with open(dst, "w", encoding="utf-8") as f:
    f.write("/* generated from %s by embed_json.py: do not edit */\n" %
            src.split("/")[-1])
    f.write("const char %s[] =\n" % sym)
    for i in range(0, len(text), 70):
        chunk = text[i:i + 70].replace("\\", "\\\\").replace('"', '\\"').replace(
            "?", "\\?")
        f.write('  "%s"\n' % chunk)
    f.write(";\n")
