#!/usr/bin/env python3
"""`meson install` puts everything an operator needs in its place (TAP).

    tests/check_install.py MESON SOURCE_ROOT BUILD_ROOT KEY=VALUE...

KEY is version (the project's), prefix, bindir, sbindir, libdir,
includedir, datadir, mandir, unitdir, sysusersdir (meson's options, as
meson.build resolved them) and man (1 when the man pages were built). The build is installed into a
scratch DESTDIR; the files are looked for where the options put them, the
data compared with the source tree's, and the installed programs run.
"""
import filecmp
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

meson, root, build = sys.argv[1:4]
opt = dict(a.split("=", 1) for a in sys.argv[4:])
results = []


def check(ok, name, problems=()):
    results.append((bool(ok) and not problems, name, list(problems)))


def finish():
    print(f"1..{len(results)}")
    for i, (ok, name, problems) in enumerate(results, 1):
        print(f"{'ok' if ok else 'not ok'} {i} - {name}")
        for p in problems:
            print(f"# {p}")
    sys.exit(0 if results and all(r[0] for r in results) else 1)


def where(key, *parts):
    """The absolute install path of option KEY (relative to the prefix
    unless it is absolute), then PARTS."""
    return os.path.join(opt["prefix"], opt[key], *parts)


def missing(dest, paths):
    return [f"{p}: not installed" for p in paths
            if not os.path.isfile(dest + p)]


def run(argv, env=None):
    p = subprocess.run(argv, capture_output=True, text=True, timeout=60,
                       env=env)
    return p.returncode, p.stdout, p.stderr


dest = tempfile.mkdtemp(prefix="edv-install-")
try:
    rc, out, err = run([meson, "install", "-C", build, "--no-rebuild",
                        "--quiet", "--destdir", dest])
    check(rc == 0, "meson install --destdir succeeds",
          [] if rc == 0 else (out + err).splitlines()[-20:])
    if rc != 0:
        finish()

    edvctl = where("bindir", "edvctl")
    edvd = where("sbindir", "edvd")
    gcpsim = where("bindir", "edv-gcpsim")
    progs = [edvctl, edvd, gcpsim]
    check(True, "the programs: edvctl, edv-gcpsim, edvd (sbin)",
          missing(dest, progs) +
          [f"{p}: not executable" for p in progs
           if os.path.isfile(dest + p) and not os.access(dest + p, os.X_OK)])

    lib = [where("libdir", n) for n in (
        "libedv.so", "libedv.a", "libedvsim.a", "pkgconfig/libedv.pc",
        "pkgconfig/libedvsim.pc")]
    headers = sorted(os.listdir(os.path.join(root, "include", "edv")))
    lib += [where("includedir", "edv", h) for h in headers]
    sonames = glob.glob(dest + where("libdir", "libedv.so.*"))
    check(headers, "the library: libedv.so.N, .a, libedvsim.a, .pc, headers",
          missing(dest, lib) + ([] if sonames else ["libedv.so.N: none"]))

    if opt.get("man") == "1":
        pages = [where("mandir", "man1", "edvctl.1"),
                 where("mandir", "man8", "edvd.8"),
                 where("mandir", "man1", "edv-gcpsim.1")]
        check(True, "man pages edvctl(1), edvd(8), edv-gcpsim(1)",
              missing(dest, pages))
    else:
        print("# no scdoc: the man pages were not built")

    # The installed programs run; the libraries a subprojects fallback
    # built (libjwt) come from the same DESTDIR.
    env = dict(os.environ, LD_LIBRARY_PATH=dest + where("libdir"))
    problems = []
    for argv in ([edvctl, "version"], [edvd, "--help"], [gcpsim, "--help"]):
        rc, out, err = run([dest + argv[0]] + argv[1:], env)
        if rc != 0:
            problems.append(f"{' '.join(argv)}: exit {rc}: {err.strip()}")
        elif argv[1] == "version" and opt["version"] not in out:
            problems.append(f"edvctl version: {out.strip()!r}, "
                            f"not {opt['version']}")
    check(True, "the installed edvctl version, edvd and edv-gcpsim --help run",
          problems)

    # Completions where bash-completion, zsh and fish look, and what the
    # installed edvctl would print.
    problems = []
    for shell, path in (
            ("bash", where("datadir", "bash-completion", "completions",
                           "edvctl")),
            ("zsh", where("datadir", "zsh", "vendor-completions", "_edvctl")),
            ("fish", where("datadir", "fish", "vendor_completions.d",
                           "edvctl.fish"))):
        if not os.path.isfile(dest + path):
            problems.append(f"{path}: not installed")
            continue
        rc, out, _ = run([dest + edvctl, "completion", shell], env)
        if rc != 0 or open(dest + path, encoding="utf-8").read() != out:
            problems.append(f"{path}: not `edvctl completion {shell}`")
    check(True, "shell completions for bash, zsh and fish", problems)

    # The data, as in the source tree; both programs look for tiers.json
    # where it was installed.
    tiers = where("datadir", "edv", "tiers.json")
    data = [(tiers, "tiers.json"),
            (where("datadir", "edv", "openapi.json"), "docs/openapi.json"),
            (where("datadir", "edv", "openapi.yaml"), "docs/openapi.yaml")]
    problems = missing(dest, [d[0] for d in data])
    problems += [f"{d[0]}: differs from {d[1]}" for d in data
                 if os.path.isfile(dest + d[0]) and not filecmp.cmp(
                     dest + d[0], os.path.join(root, d[1]), shallow=False)]
    for prog in (edvctl, edvd):
        if os.path.isfile(dest + prog) and tiers.encode() not in open(
                dest + prog, "rb").read():
            problems.append(f"{prog} does not look for {tiers}")
    for path, _ in data[:2]:
        try:
            json.load(open(dest + path, encoding="utf-8"))
        except (OSError, ValueError) as e:
            problems.append(f"{path}: {e}")
    check(True, "tiers.json and the OpenAPI document in share/edv, "
          "where edvctl and edvd look", problems)

    # edvd's unit starts the installed edvd as the user sysusers.d creates.
    unit = os.path.join(opt["unitdir"], "edvd.service")
    users = os.path.join(opt["sysusersdir"], "edv.conf")
    problems = missing(dest, [unit, users])
    if not problems:
        text = open(dest + unit, encoding="utf-8").read()
        start = re.findall(r"^ExecStart=(\S+)", text, re.M)
        user = re.findall(r"^User=(\S+)", text, re.M)
        if start != [edvd]:
            problems.append(f"ExecStart={start}, edvd is installed as {edvd}")
        made = re.findall(r"^u\s+(\S+)", open(dest + users,
                                              encoding="utf-8").read(), re.M)
        if not user or user[0] not in made:
            problems.append(f"User={user}, sysusers.d/edv.conf makes {made}")
    check(True, "edvd.service (ExecStart the installed edvd) and "
          "sysusers.d/edv.conf (its user)", problems)

    examples = [where("datadir", "doc", "edvirons", "examples", n)
                for n in ("edv.conf", "tiers-custom.json",
                          "prometheus/edvd-rules.yml",
                          "grafana/edvd-dashboard.json")]
    problems = missing(dest, examples)
    if not problems:
        # The example configuration loads with the installed edvctl.
        rc, out, err = run([dest + edvctl, "--config", dest + examples[0],
                            "config", "get", "project"], env)
        if rc != 0 or out.strip() != "edv-prod-1":
            problems.append(f"edvctl --config edv.conf: {rc} {out}{err}")
    check(True, "the example configuration and tiers file in share/doc",
          problems)

    docs = [where("datadir", "doc", "edvirons", n)
            for n in ("README.md", "LICENSE", "api.md", "cli.md",
                      "config.md", "operations.md", "simulator.md")]
    check(True, "the documentation in share/doc", missing(dest, docs))
finally:
    shutil.rmtree(dest, ignore_errors=True)
finish()
