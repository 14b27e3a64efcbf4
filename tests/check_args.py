#!/usr/bin/env python3
"""The three programs read their command line the same way (TAP).

    check_args.py EDVCTL EDVD EDV_GCPSIM

One parser (src/common/args.h) behind edvctl, edvd and edv-gcpsim: each
answers --version and -h, refuses an unknown flag naming the nearest known
one, a missing value and a value given to a switch, each on one line
prefixed with its name and followed by "Run 'PROG --help' for usage.",
with exit code 2; "--name=value" and "--name value" are the same.
"""
import subprocess
import sys

progs = {"edvctl": sys.argv[1], "edvd": sys.argv[2],
         "edv-gcpsim": sys.argv[3]}
# A flag of each that takes a value, a near misspelling, and a switch.
flags = {"edvctl": ("--state-dir", "--stat-dir", "--quiet"),
         "edvd": ("--listen", "--lisen", "--sim"),
         "edv-gcpsim": ("--port", "--prot", "--no-auth")}
results = []


def run(path, *args):
    p = subprocess.run([path, *args], capture_output=True, text=True,
                       timeout=20, stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout, p.stderr


def check(ok, name, detail=""):
    results.append((ok, name, detail))


for name, path in progs.items():
    valued, typo, switch = flags[name]
    rc, out, err = run(path, "--version")
    check(rc == 0 and out.startswith(name + " ") and "commit" in out,
          f"{name} --version", out + err)
    rc, out, err = run(path, "-h")
    check(rc == 0 and out.strip() != "", f"{name} -h", err)
    rc, out, err = run(path, typo, "1")
    want = (f"{name}: unknown flag '{typo}'; did you mean '{valued}'?\n"
            f"Run '{name} --help' for usage.\n")
    check(rc == 2 and err == want, f"{name} {typo}: names {valued}",
          f"rc={rc} stderr={err!r}")
    rc, out, err = run(path, valued)
    check(rc == 2 and f"flag {valued} needs a value" in err
          and err.startswith(name + ": "), f"{name} {valued} without value",
          f"rc={rc} stderr={err!r}")
    rc, out, err = run(path, switch + "=yes")
    check(rc == 2 and f"flag {switch} takes no value" in err,
          f"{name} {switch}=yes", f"rc={rc} stderr={err!r}")

print(f"1..{len(results)}")
for i, (ok, name, detail) in enumerate(results, 1):
    print(f"{'ok' if ok else 'not ok'} {i} - {name}")
    if not ok:
        for line in detail.splitlines()[:5]:
            print(f"# {line}")
sys.exit(0 if all(r[0] for r in results) else 1)
