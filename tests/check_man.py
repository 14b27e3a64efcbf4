#!/usr/bin/env python3
"""The man pages and the programs' --help name the same options (TAP).

    tests/check_man.py SOURCE_ROOT BUILD_ROOT EDVCTL EDVD EDV_GCPSIM

edvd(8) and edv-gcpsim(1) are written by hand (docs/man/*.scd): every
--option of the program's usage must be described under OPTIONS, and
every option described there must be in the usage. edvctl(1) is generated
from the command table: every command of `edvctl --help` (and of each
group's --help) must have its section in the built page, when scdoc was
there to build it.
"""
import os
import re
import subprocess
import sys

root, build, edvctl, edvd, gcpsim = sys.argv[1:6]
results = []


def run(*argv):
    p = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    return p.stdout + p.stderr


def usage_options(text):
    usage = text.split("\n\n")[0]  # the usage lines, before the prose
    return set(re.findall(r"--([a-z][a-z0-9-]*)", usage))


for prog, page in ((edvd, "edvd.8.scd"), (gcpsim, "edv-gcpsim.1.scd")):
    src = open(os.path.join(root, "docs", "man", page), encoding="utf-8").read()
    options = src.split("# OPTIONS", 1)[1].split("\n# ", 1)[0]
    described = set(re.findall(r"^\*(?:-[a-zA-Z]\*, \*)?--([a-z0-9-]+)\*",
                               options, re.M))
    shown = usage_options(run(prog, "--help"))
    problems = [f"--{o}: in --help, not in docs/man/{page}"
                for o in sorted(shown - described)]
    problems += [f"--{o}: in docs/man/{page}, not in --help"
                 for o in sorted(described - shown - {"help", "version"})]
    results.append((not problems and bool(shown),
                    f"{page}: the options of {os.path.basename(prog)} --help",
                    problems))

page = os.path.join(build, "docs", "man", "edvctl.1")
if os.path.exists(page):
    roff = open(page, encoding="utf-8").read()
    problems = []
    top = run(edvctl, "--help")
    groups = re.findall(r"^  ([a-z][a-z-]*) ", top.split("Commands:\n", 1)[1]
                        .split("\n\n", 1)[0], re.M)
    for g in groups:
        sub = run(edvctl, g, "--help")
        names = [f"{g} {n}" for n in re.findall(
            r"^  ([a-z][a-z-]*) ", sub.split("Commands:\n", 1)[1]
            .split("\n\n", 1)[0], re.M)] if "Commands:\n" in sub else [g]
        for n in names:
            if f".SS edvctl {n}" not in roff:
                problems.append(f"edvctl {n}: no section in edvctl(1)")
    results.append((not problems and len(groups) > 5,
                    "edvctl(1) has a section for every command", problems))
else:
    print("# edvctl.1 was not built (no scdoc): not compared")

print(f"1..{len(results)}")
for i, (ok, name, problems) in enumerate(results, 1):
    print(f"{'ok' if ok else 'not ok'} {i} - {name}")
    for p in problems:
        print(f"# {p}")
sys.exit(0 if all(r[0] for r in results) else 1)
