"""show_config, the CUDA probe and the build: what a user sees of the installation."""
import io
import subprocess
import sys

import turbolearn
from turbolearn import _cpu


def test_show_config_reports_every_field():
    out = io.StringIO()
    turbolearn.show_config(file=out)
    text = out.getvalue()
    for field in ("turbolearn 0.1.0", "compiler:", "SIMD level:", "threads:", "BLAS:", "CUDA compiled:",
                  "GPU present:", "CUDA emulation:"):
        assert field in text
    assert _cpu.simd_level() in text and f"threads:         {turbolearn.get_num_threads()}" in text


def test_cuda_probe_is_consistent():
    count = turbolearn.cuda.device_count()
    assert count >= 0
    assert turbolearn.cuda.is_available() == (count > 0)


def test_simd_level_env_caps_the_level():
    code = "from turbolearn import _cpu; print(_cpu.simd_level())"
    done = subprocess.run([sys.executable, "-c", code], env={"TURBOLEARN_SIMD": "baseline", "PATH": ""},
                          capture_output=True, text=True)
    assert done.stdout.strip() == "baseline", done.stderr


def test_unknown_simd_level_is_refused():
    import pytest

    with pytest.raises(ValueError, match="unknown SIMD level"):
        _cpu.set_simd_level("sse9")


def _openmp_env_after_import(env):
    code = ("import os, turbolearn; "
            "print(os.environ.get('OMP_WAIT_POLICY'), os.environ.get('GOMP_SPINCOUNT'))")
    done = subprocess.run([sys.executable, "-c", code], env={"PATH": "", **env},
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_import_sets_a_bounded_openmp_spin():
    assert _openmp_env_after_import({}) == ["PASSIVE", "30000"]
    assert _openmp_env_after_import({"GOMP_SPINCOUNT": "0"}) == ["PASSIVE", "0"]


def test_a_users_openmp_wait_policy_wins():
    assert _openmp_env_after_import({"OMP_WAIT_POLICY": "ACTIVE"}) == ["ACTIVE", "None"]
