#!/usr/bin/env python3
"""Checks that the project cites only its own documents.

    scripts/check-citations.py [SOURCE_ROOT]

The design notes the project started from live outside the repository; what
the code relies on is written in docs/ (docs/google-cloud.md,
docs/architecture.md, docs/HACKING.md), and comments and docs cite those
pages. This check fails on any file under src/, include/, docs/, tests/,
scripts/, examples/ or README.md that names one of the outside notes or a
path into the directory beside the clone, except the few lines of ALLOW
that say where the discovery documents and vendored archives are found.
Lists every offending line and exits 1.
"""
import os
import re
import subprocess
import sys

# Built from parts so that this file does not match itself.
SHARED = ".." + "/shared/"
FORBIDDEN = re.compile(
    "|".join(
        [
            re.escape("DESIGN" + ".md"),
            re.escape("STYLE" + ".md"),
            re.escape("gcp-" + "behavior"),
            re.escape(SHARED),
        ]
    )
)

# Where a path beside the clone is legitimate: the discovery documents (the
# conformance test and the schema generators read them when present) and
# the vendored release archives. Each file may name only the path given.
ALLOW = {
    "scripts/discovery-subset.py": SHARED + "gcp-discovery",
    "scripts/vendor-unpack.sh": SHARED + "vendor",
    "docs/simulator.md": SHARED + "gcp-discovery",
    "tests/unit/sim/meson.build": SHARED + "gcp-discovery",
    "tests/unit/sim/test_conformance.c": SHARED + "gcp-discovery",
}

ROOTS = ("src/", "include/", "docs/", "tests/", "scripts/", "examples/")
FILES = ("README.md",)


def tracked(root):
    """The tracked files (or, outside a git checkout, every file)."""
    try:
        out = subprocess.run(
            ["git", "-C", root, "ls-files", "-z"],
            check=True,
            capture_output=True,
        ).stdout
        return [p for p in out.decode().split("\0") if p]
    except (OSError, subprocess.CalledProcessError):
        paths = []
        for top, dirs, names in os.walk(root):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            for n in names:
                paths.append(os.path.relpath(os.path.join(top, n), root))
        return paths


def line_ok(path, line):
    allowed = ALLOW.get(path)
    if allowed is None:
        return False
    # Only the allowed path, and nothing else forbidden, on the line.
    rest = line.replace(allowed, "")
    return FORBIDDEN.search(rest) is None


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "."
    bad = []
    for path in sorted(tracked(root)):
        if not (path.startswith(ROOTS) or path in FILES):
            continue
        try:
            with open(os.path.join(root, path), encoding="utf-8") as f:
                lines = f.readlines()
        except (UnicodeDecodeError, IsADirectoryError, FileNotFoundError):
            continue
        for no, line in enumerate(lines, 1):
            if FORBIDDEN.search(line) and not line_ok(path, line):
                bad.append("%s:%d: %s" % (path, no, line.strip()))
    if bad:
        print("cites a document outside the repository (cite docs/ instead):")
        print("\n".join(bad))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
