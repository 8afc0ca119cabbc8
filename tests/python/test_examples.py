"""Every example script and every Python snippet of the README runs as written."""
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
README_SNIPPETS = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)


def run_python(code_or_path, tmp_path):
    args = [str(code_or_path)] if isinstance(code_or_path, pathlib.Path) else ["-c", code_or_path]
    done = subprocess.run([sys.executable, *args], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs(path, tmp_path):
    assert run_python(path, tmp_path).strip()


@pytest.mark.parametrize("snippet", README_SNIPPETS)
def test_readme_snippet_runs(snippet, tmp_path):
    run_python(snippet, tmp_path)


def test_demo_runs(tmp_path):
    done = subprocess.run([sys.executable, "-m", "turbolearn"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "SIMD level" in done.stdout and "same neighbours as sklearn" in done.stdout
