#!/usr/bin/env python3
"""Compile every cuda/*.cu with the real nvcc (warnings are errors) for the GPU targets and
record registers, shared memory and spills per kernel in cuda/ptxas_report.txt.

    python scripts/nvcc_report.py           # refresh the report
    python scripts/nvcc_report.py --check   # CI: fail if the compile fails or the report is stale
"""
import argparse
import pathlib
import re
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
REPORT = ROOT / "cuda" / "ptxas_report.txt"
ARCHS = ("sm_80", "sm_90")
ENTRY = re.compile(r"Compiling entry function '(\S+)' for '(\S+)'")
PROPS = re.compile(r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads")
USED = re.compile(r"Used (\d+) registers(?:.*?(\d+) bytes smem)?")


def compile_report(source):
    """[(arch, mangled kernel, registers, smem, spill stores, spill loads)] for one source."""
    rows = []
    for arch in ARCHS:
        with tempfile.TemporaryDirectory() as tmp:
            cmd = ["nvcc", "-std=c++20", "-O3", f"-I{ROOT / 'cuda'}", f"-I{ROOT / 'cpp'}",
                   f"-arch={arch}", "-Werror", "all-warnings", "-Xptxas", "-v,-warn-spills",
                   "-c", str(source), "-o", f"{tmp}/out.o"]
            done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"nvcc failed on {source.name} for {arch}:\n{done.stderr}")
        kernel = spills = None
        for line in done.stderr.splitlines():
            if m := ENTRY.search(line):
                kernel = m.group(1)
            elif (m := PROPS.search(line)) and kernel:
                spills = (int(m.group(2)), int(m.group(3)))
            elif (m := USED.search(line)) and kernel and spills:
                rows.append((arch, kernel, int(m.group(1)), int(m.group(2) or 0), *spills))
                kernel = spills = None
    return rows


def demangle(names):
    out = subprocess.run(["c++filt"], input="\n".join(names), capture_output=True, text=True)
    return out.stdout.splitlines()


def render():
    version = subprocess.run(["nvcc", "--version"], capture_output=True, text=True).stdout
    lines = [f"# ptxas resource usage per kernel, written by scripts/nvcc_report.py",
             f"# {version.strip().splitlines()[-1]}",
             "# source | arch | kernel | registers | static smem bytes | spill stores | spill loads"]
    for source in sorted((ROOT / "cuda").glob("*.cu")):
        rows = compile_report(source)
        for (arch, _, regs, smem, st, ld), name in zip(rows, demangle([r[1] for r in rows])):
            lines.append(f"{source.name} | {arch} | {name} | {regs} | {smem} | {st} | {ld}")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the report is stale")
    report = render()
    if parser.parse_args().check:
        if not REPORT.exists() or REPORT.read_text() != report:
            sys.exit("cuda/ptxas_report.txt is stale: run python scripts/nvcc_report.py and commit it")
        print("nvcc: every kernel compiled without warnings; ptxas report up to date")
    else:
        REPORT.write_text(report)
        print(f"wrote {REPORT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
