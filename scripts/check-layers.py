#!/usr/bin/env python3
"""Checks that no module in src/ includes a module it may not use.

    scripts/check-layers.py [SOURCE_ROOT] [--program PROG]...
                            [--libedv LIBEDV_SO ARCHIVE...]

Reads every `#include "m/..."` (and `<edv/...>`) line of src/<module>/ and
compares it with ALLOWED below, the table docs/architecture.md draws: a
module uses the modules below it, never one beside or above it. A public
header include/edv/X.h belongs to the module that implements it (PUBLIC).
Exits 1 and lists every include that breaks the table, or a module or
public header the table does not know; prints the table with -v.

With --libedv, also checks the built library: libedv.so defines none of the
global symbols of the given archives (the simulator's libedvsim.a, the HTTP
adapter's and the programs' support) and does not need libmicrohttpd; the
simulator's libedvsim.a needs of libedv nothing libedv.so does not export; it
exports the public API and nothing else (every dynamic symbol is an edv_
function declared EDV_EXPORT in a public header of libedv, never an
internal edv__ one); and every function a public header declares is marked
EDV_EXPORT (include/edv/export.h).

The integration tests (tests/integration/) drive the library as an
embedder does, through include/edv/ only; the few that test the tenant
machine below the public API (its steps, crash points and store) are named
in scripts/tests-internal-allow.txt, a list that only shrinks: a test that
includes an internal header, itself or through a harness header of its
directory, must be on it, and one that no longer does must leave it.

With --program PROG (repeatable), also checks that the built program PROG
links the shared library: libedv.so is among its NEEDED entries (readelf
-d), so it did not link the static archive's internals.
"""
import os
import re
import subprocess
import sys

# The module that implements each public header (include/edv/).
PUBLIC = {
    "edv/error.h": "common",
    "edv/version.h": "common",
    "edv/config.h": "transport",
    "edv/engine.h": "transport",
    "edv/auth.h": "auth",
    "edv/ops.h": "gcp",
    "edv/sim.h": "sim",
    "edv/fleet.h": "fleet",
    "edv/export.h": "common",
    "edv/log.h": "common",
    "edv/url.h": "gcp",
    "edv/tiers.h": "fleet",
}

LIBEDV = ["common", "transport", "auth", "gcp", "store", "tenant", "fleet"]

# A program on libedv.so: every public header ("edv/"), and of common/ only
# what edvprog compiles for the programs (the argument parser, the JSON
# readers, the private file writer, the UTF-8 decoder); never an internal
# header of libedv.
PROGRAM = ["edv/", "common/args.h", "common/file.h", "common/json.h",
           "common/utf8.h"]

# What each module may include besides itself: a module name (any of its
# headers) or one header ("auth/auth.h"). transport and auth are one layer,
# the engine, and meet only at auth/auth.h (the engine asks auth for a
# token) and the public engine headers (auth sends its token exchanges as
# calls of the engine); auth never includes transport/transport.h.
ALLOWED = {
    # libedv, bottom up
    "common": [],
    "transport": ["common", "auth/auth.h"],
    "auth": ["common", "edv/config.h", "edv/engine.h"],
    "gcp": ["common", "transport", "auth"],
    "store": ["common"],
    "tenant": ["common", "transport", "auth", "gcp", "store"],
    "fleet": ["common", "transport", "auth", "gcp", "store", "tenant"],
    # the HTTP server adapter (edvhttpd) and the simulator (libedvsim)
    "httpd": ["common"],
    "sim": ["common", "httpd"],
    # the programs' support (edvprog) and the programs
    "prog": PROGRAM + ["httpd", "sim"],
    "server": PROGRAM + ["httpd", "prog"],
    "cli": PROGRAM + ["prog"],
}

INCLUDE = re.compile(r'^\s*#\s*include\s*(?:"([^"]+)"|<(edv/[^>]+)>)')


def allowed(module, header):
    """True when `module` may include `header` ("m/file.h")."""
    owner = PUBLIC.get(header, header.split("/")[0])
    rules = ALLOWED[module]
    if header in PUBLIC and "edv/" in rules:
        return True
    return owner == module or owner in rules or header in rules


def scan(root):
    """Returns the list of problems, one line each."""
    problems = []
    src = os.path.join(root, "src")
    for module in sorted(os.listdir(src)):
        mdir = os.path.join(src, module)
        if not os.path.isdir(mdir):
            continue
        if module not in ALLOWED:
            problems.append(f"src/{module}/: a module scripts/check-layers.py "
                            "does not know: add it to ALLOWED and to the "
                            "layers of docs/architecture.md")
            continue
        for d, _, files in sorted(os.walk(mdir)):
            for f in sorted(files):
                if not f.endswith((".c", ".h")):
                    continue
                path = os.path.join(d, f)
                rel = os.path.relpath(path, root)
                with open(path, encoding="utf-8", errors="replace") as fh:
                    for n, line in enumerate(fh, 1):
                        m = INCLUDE.match(line)
                        if not m:
                            continue
                        header = m.group(1) or m.group(2)
                        if "/" not in header:
                            continue  # beside the source: same module
                        if header.startswith("edv/") and header not in PUBLIC:
                            problems.append(f"{rel}:{n}: {header}: a public "
                                            "header with no owner in PUBLIC")
                        elif (header.split("/")[0] not in ALLOWED and
                              header not in PUBLIC):
                            problems.append(f"{rel}:{n}: {header}: not a "
                                            "module of src/")
                        elif not allowed(module, header):
                            owner = PUBLIC.get(header, header.split("/")[0])
                            problems.append(f"{rel}:{n}: {module} may not "
                                            f"include {header} ({owner})")
    return problems


def defined(path, dynamic):
    """The global symbols `path` defines (nm)."""
    out = subprocess.run(["nm", "-D" if dynamic else "-g", "--defined-only",
                          path], check=True, capture_output=True,
                         text=True).stdout
    return {f[2] for f in (line.split() for line in out.splitlines())
            if len(f) == 3}


# Functions a public header of libedv declares that no source defines yet
# (docs/status.md): they are not exported, and an embedder calling one does
# not link. The list only shrinks: a function here that libedv.so exports
# is a problem too (take it off the list).
PENDING = set()

# A function declared in a public header: a line at the left margin that is
# not a typedef, macro or comment and names an edv_ function before its "(".
DECL = re.compile(r"^(?!typedef\b|#|/|\*|\s|[{}])[^;(]*?\b(edv_\w+)\s*\(")


def declared(root):
    """{header: ([exported functions], [problems])} of include/edv/."""
    out = {}
    inc = os.path.join(root, "include", "edv")
    for f in sorted(os.listdir(inc)):
        if not f.endswith(".h"):
            continue
        header = "edv/" + f
        names, problems = [], []
        with open(os.path.join(inc, f), encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                m = DECL.match(line)
                if not m:
                    continue
                names.append(m.group(1))
                if not line.startswith("EDV_EXPORT "):
                    problems.append(f"include/{header}:{n}: {m.group(1)} is "
                                    "declared without EDV_EXPORT "
                                    "(edv/export.h)")
        out[header] = (names, problems)
    return out


def check_exports(root, so, mine):
    """Returns the problems of what libedv.so exports, one line each."""
    problems = []
    api = set()
    for header, (names, bad) in declared(root).items():
        problems += bad
        owner = PUBLIC.get(header)
        if owner is None:
            problems.append(f"include/{header}: a public header with no "
                            "owner in PUBLIC")
        elif owner in LIBEDV:
            api.update(names)
    for sym in sorted(mine):
        if sym.startswith("edv__"):
            problems.append(f"{so}: exports {sym}, an internal symbol "
                            "(libedv is built with hidden visibility: is "
                            "something linked in that is not?)")
        elif not sym.startswith("edv_"):
            problems.append(f"{so}: exports {sym}, which is not libedv's "
                            "(only edv_ functions of the public headers)")
        elif sym not in api:
            problems.append(f"{so}: exports {sym}, which no public header "
                            "of libedv declares")
    for sym in sorted(api - mine - PENDING):
        problems.append(f"{so}: does not export {sym}, which a public "
                        "header of libedv declares (EDV_EXPORT, and the "
                        "definition in a libedv source)")
    for sym in sorted(PENDING & mine):
        problems.append(f"{so}: exports {sym}: take it off PENDING in "
                        "scripts/check-layers.py")
    return problems


def undefined(path):
    """The symbols the archive `path` uses and its member leaves undefined."""
    out = subprocess.run(["nm", "-u", path], check=True, capture_output=True,
                         text=True).stdout
    return {f[1] for f in (line.split() for line in out.splitlines())
            if len(f) == 2 and f[0] == "U"}


def check_libedv(root, so, archives):
    """Returns the problems of the built libedv.so, one line each."""
    problems = []
    mine = defined(so, True)
    problems += check_exports(root, so, mine)
    for a in archives:
        for sym in sorted(mine & defined(a, False)):
            problems.append(f"{so}: defines {sym}, which belongs to "
                            f"{os.path.basename(a)}")
        if os.path.basename(a) == "libedvsim.a":
            # Linked beside libedv.so, the simulator finds there only what
            # libedv exports: it carries the rest itself (edvcommon).
            for sym in sorted(undefined(a) - defined(a, False) - mine):
                if sym.startswith("edv"):
                    problems.append(f"{a}: needs {sym}, which {so} does not "
                                    "export (link it into libedvsim too)")
    dyn = subprocess.run(["readelf", "-d", so], check=True,
                         capture_output=True, text=True).stdout
    for line in dyn.splitlines():
        if "(NEEDED)" in line and "microhttpd" in line:
            problems.append(f"{so}: needs libmicrohttpd: {line.strip()}")
    return problems


def check_program(prog):
    """Returns the problems of a program that must link libedv.so."""
    dyn = subprocess.run(["readelf", "-d", prog], check=True,
                         capture_output=True, text=True).stdout
    if any("(NEEDED)" in line and "[libedv.so" in line
           for line in dyn.splitlines()):
        return []
    return [f"{prog}: does not link libedv.so (no NEEDED entry): link the "
            "shared library, not the static archive's internals"]


INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def check_tests(root):
    """Integration tests including internal headers vs. the allow-list."""
    base = os.path.join(root, "tests", "integration")
    incs = {}
    for d, _, files in sorted(os.walk(base)):
        for f in files:
            if f.endswith((".c", ".h")):
                p = os.path.join(d, f)
                incs[p] = INCLUDE.findall(open(p, encoding="utf-8").read())

    def internal(p, seen):
        out = []
        for h in incs.get(p, []):
            if h.startswith("edv/"):
                continue
            if "/" in h:
                out.append(h)
                continue
            q = os.path.join(os.path.dirname(p), h)
            if q in incs and q not in seen and internal(q, seen | {p}):
                out.append(h)
        return out

    allow = set()
    for line in open(os.path.join(root, "scripts", "tests-internal-allow.txt"),
                     encoding="utf-8"):
        line = line.split("#")[0].strip()
        if line:
            allow.add(line)
    problems = []
    found = set()
    for p in sorted(incs):
        if not p.endswith(".c") or "harness" in os.path.basename(p):
            continue
        rel = os.path.relpath(p, root)
        got = internal(p, set())
        if got:
            found.add(rel)
            if rel not in allow:
                problems.append(f"{rel}: includes {', '.join(got)}: an "
                                "integration test uses include/edv/ only "
                                "(pharness.h), or tests the machine below it "
                                "and is named in "
                                "scripts/tests-internal-allow.txt")
    for rel in sorted(allow - found):
        problems.append(f"{rel}: uses only public headers now (or is gone): "
                        "remove it from scripts/tests-internal-allow.txt")
    return problems


def main(argv):
    verbose = "-v" in argv
    args = [a for a in argv[1:] if a != "-v"]
    programs = []
    while "--program" in args:
        i = args.index("--program")
        programs.append(args[i + 1])
        del args[i:i + 2]
    libs = []
    if "--libedv" in args:
        libs = args[args.index("--libedv") + 1:]
        args = args[:args.index("--libedv")]
    root = args[0] if args else os.path.join(os.path.dirname(__file__), "..")
    if verbose:
        for module, rules in ALLOWED.items():
            print(f"{module}: {', '.join(rules) or '-'}")
    problems = scan(root) + check_tests(root)
    if libs:
        problems += check_libedv(root, libs[0], libs[1:])
    for prog in programs:
        problems += check_program(prog)
    for p in problems:
        print(p)
    if problems:
        print(f"{len(problems)} problem(s) with the layers of "
              "docs/architecture.md: move the code to the right layer, or "
              "change the table there and in scripts/check-layers.py; "
              "export only the public API (EDV_EXPORT)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
