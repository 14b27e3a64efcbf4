#!/usr/bin/env python3
"""Lists functions over 80 lines and files over 1,500 lines in src/.

    scripts/check-size.py [SOURCE_ROOT]

Every one found must be named in scripts/size-allow.txt with its size as
the note ("# N lines"), and every line of that list must still be over its
limit: the list only shrinks, and so does each entry (a named function or
file that grew past its note fails; one that shrank asks for its note to
be lowered). A function
is counted from its opening brace to its closing brace, both in column 0
(the layout .clang-format gives every function definition). Exits 1 and
says what to do on any difference; prints the current list with -v.
"""
import os
import re
import sys

FUNC_MAX = 80
FILE_MAX = 1500
NAME = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*\(")


def functions(path):
    """Yields (name, lines) for each function definition in a C file."""
    lines = open(path, encoding="utf-8", errors="replace").read().split("\n")
    head = []
    start = None
    for i, line in enumerate(lines):
        if start is None:
            if line == "{" and head:
                sig = " ".join(head)
                m = NAME.findall(sig.split("(")[0] + "(") if "(" in sig else []
                if m and "=" not in sig.split("(")[0]:
                    start, name = i, m[-1]
                head = []
            elif line and not line[0].isspace() and not line.startswith(("#", "/*", " *", "}")):
                head = head + [line] if head and not head[-1].rstrip().endswith(";") else [line]
            elif line.startswith(" ") and head:
                head.append(line)
            else:
                head = []
        elif line.startswith("}"):
            yield name, i - start + 1
            start = None


def scan(root):
    found = {}
    src = os.path.join(root, "src")
    for d, _, files in sorted(os.walk(src)):
        for f in sorted(files):
            if not f.endswith(".c"):
                continue
            path = os.path.join(d, f)
            rel = os.path.relpath(path, root)
            n = sum(1 for _ in open(path, encoding="utf-8", errors="replace"))
            if n > FILE_MAX:
                found[rel] = n
            for name, length in functions(path):
                if length > FUNC_MAX:
                    found[f"{rel}:{name}"] = length
    return found


def main():
    args = [a for a in sys.argv[1:] if a != "-v"]
    root = args[0] if args else os.path.join(os.path.dirname(__file__), "..")
    allow_path = os.path.join(root, "scripts", "size-allow.txt")
    allowed = {}
    for line in open(allow_path, encoding="utf-8"):
        entry, _, note = line.partition("#")
        if entry.strip():
            m = re.search(r"(\d+) lines", note)
            allowed[entry.split()[0]] = int(m.group(1)) if m else 0
    found = scan(root)
    if "-v" in sys.argv:
        for k, v in sorted(found.items()):
            print(f"{k} {v}")
    new = sorted(set(found) - set(allowed))
    gone = sorted(set(allowed) - set(found))
    for k in new:
        limit = FUNC_MAX if ":" in k else FILE_MAX
        print(f"{k}: {found[k]} lines, over {limit}: split it "
              f"(scripts/size-allow.txt only shrinks)")
    for k in gone:
        print(f"{k}: no longer over its limit (or gone): remove it from "
              f"scripts/size-allow.txt")
    moved = 0
    for k in sorted(set(found) & set(allowed)):
        if found[k] > allowed[k]:
            moved += 1
            print(f"{k}: {found[k]} lines, grown past its {allowed[k]}: "
                  f"split it (an allowed entry may only shrink)")
        elif found[k] < allowed[k]:
            moved += 1
            print(f"{k}: {found[k]} lines, below its {allowed[k]}: lower its "
                  f"note in scripts/size-allow.txt to '# {found[k]} lines'")
    print(f"# {len(found)} over the limits, {len(allowed)} allowed")
    return 1 if new or gone or moved else 0


if __name__ == "__main__":
    sys.exit(main())
