#!/usr/bin/env python3
"""Builds one example program of examples/ as an outside developer would,
then runs it.

    tests/check_example.py SOURCE BUILD_ROOT SANITIZE CC...

Outside meson's target graph: the compiler is given the example, the
`pkg-config --cflags --libs` of libedvsim and libedv (the build's
meson-uninstalled/*.pc, through PKG_CONFIG_PATH) and, in a sanitizer
build, the same -fsanitize flags (SANITIZE is meson's b_sanitize, "none"
without), and nothing else. The example may include only the public
headers <edv/...> and the C and POSIX system headers. The program must be
linked against the shared libedv.so, run with the library directories
pkg-config named on LD_LIBRARY_PATH, exit 0 and end with "NAME: ok" (it
checks the simulator's state itself and prints each finding).
"""
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def includes(source):
    """The problems with the example's #include lines."""
    problems = []
    with open(source, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            kind, header = m.groups()
            public = header.startswith("edv/") and kind == "<"
            system = kind == "<" and re.fullmatch(r"(sys/)?[a-z_]+\.h", header)
            if not (public or system):
                problems.append(f"{source}:{n}: #include {kind}{header}: an "
                                "outside program includes only <edv/...> "
                                "and system headers")
    return problems


def main(argv):
    if len(argv) < 5:
        print(__doc__)
        return 2
    source, build, sanitize, cc = argv[1], argv[2], argv[3], argv[4:]
    name = os.path.splitext(os.path.basename(source))[0]
    problems = includes(source)
    if problems:
        print("\n".join(problems))
        return 1
    pkgconfig = shutil.which("pkg-config") or shutil.which("pkgconf")
    if not pkgconfig:
        print("SKIP: no pkg-config")
        return 77
    env = dict(os.environ)
    env["PKG_CONFIG_PATH"] = os.path.join(build, "meson-uninstalled")
    flags = subprocess.run([pkgconfig, "--cflags", "--libs", "libedvsim",
                            "libedv"], env=env, capture_output=True,
                           text=True)
    if flags.returncode != 0:
        print(f"pkg-config libedvsim libedv failed:\n{flags.stderr}")
        return 1
    flags = shlex.split(flags.stdout)
    san = [] if sanitize in ("", "none") else [f"-fsanitize={sanitize}"]
    with tempfile.TemporaryDirectory(prefix=f"edv-{name}-") as tmp:
        exe = os.path.join(tmp, name)
        cmd = cc + ["-std=c11", "-Wall", "-Wextra", "-Werror"] + san + [
            "-o", exe, source] + flags
        print("$ " + " ".join(shlex.quote(c) for c in cmd))
        built = subprocess.run(cmd, capture_output=True, text=True)
        if built.returncode != 0:
            print(built.stdout + built.stderr)
            print(f"{name}: does not build from the pkg-config files alone")
            return 1
        needed = subprocess.run(["readelf", "-d", exe], capture_output=True,
                                text=True, check=True).stdout
        if "[libedv.so" not in needed:
            print(f"{name}: not linked against the shared libedv.so:\n"
                  f"{needed}")
            return 1
        libdirs = [f[2:] for f in flags if f.startswith("-L")]
        env["LD_LIBRARY_PATH"] = os.pathsep.join(
            libdirs + [env.get("LD_LIBRARY_PATH", "")]).rstrip(os.pathsep)
        try:
            ran = subprocess.run([exe], env=env, cwd=tmp, capture_output=True,
                                 text=True, timeout=120)
        except subprocess.TimeoutExpired:
            print(f"{name}: still running after 120 s")
            return 1
    print(ran.stdout + ran.stderr)
    lines = ran.stdout.splitlines()
    if ran.returncode != 0:
        print(f"{name}: exit status {ran.returncode}")
        return 1
    if not lines or lines[-1] != f"{name}: ok":
        print(f'{name}: its output does not end with "{name}: ok"')
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
