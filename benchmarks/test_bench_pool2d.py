"""The pool2d op family against PyTorch (CPU): max and average pooling forward + backward,
pool 2 stride 2, batch 32, on the pooling shapes of LeNet-5 (28x28x6, 10x10x16) and of the
book's Fashion-MNIST CNN (28x28x64, 14x14x128, 7x7x256); and global pooling (one window of
the whole image) over 7x7x256 against NumPy's reduction and torch.

torch runs in its default NCHW layout (what a torch user writes) and in channels_last
(torch's NHWC kernels, our layout). torch's step is the functional op plus autograd
backward; ours is `_ops.pool2d_forward` + `_ops.pool2d_backward` (the work of one
MaxPooling2D layer's forward and backward). Each benchmark prints its GB/s: the bytes a
pooling must move, x and dx (the input's size), out and grad_out (the output's), and for
max the int32 argmax written and read, over the median time.

    python -m pytest benchmarks/test_bench_pool2d.py --benchmark-only -s
"""
import numpy as np
import pytest

from turbolearn import _ops

from conftest import SCALE, optional

torch = optional("torch")
pytestmark = pytest.mark.skipif(torch is None, reason="torch is not installed")

BATCH = 32
SHAPES = [(28, 28, 6), (10, 10, 16), (28, 28, 64), (14, 14, 128), (7, 7, 256)]
NONE = ((0, 0), (0, 0))


def reps_for(shape):
    return max(int(2_000_000 * SCALE) // (BATCH * int(np.prod(shape))), 2)


def moved_bytes(shape, mode, window):
    n_in = BATCH * int(np.prod(shape))
    n_out = n_in // (window[0] * window[1])
    return 4 * (2 * n_in + 2 * n_out) + (8 * n_out if mode == "max" else 0)


def timed(benchmark, fn, nbytes, label):
    benchmark.extra_info["flops"] = 0
    benchmark.pedantic(fn, rounds=7, iterations=1, warmup_rounds=1)
    if benchmark.stats is None:  # --benchmark-disable (CI's smoke run): fn ran once, untimed
        return
    print(f"\n{label}: {nbytes / benchmark.stats.stats.median / 1e9:.1f} GB/s")


def data(shape):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((BATCH, *shape)).astype(np.float32)
    g = rng.standard_normal((BATCH, shape[0] // 2, shape[1] // 2, shape[2])).astype(np.float32)
    return x, g


def case_id(shape):
    return "x".join(map(str, (BATCH, *shape)))


@pytest.mark.parametrize("mode", ["max", "average"])
@pytest.mark.parametrize("shape", SHAPES, ids=case_id)
def test_pool_turbolearn(benchmark, shape, mode):
    benchmark.group = f"{mode} pool 2x2 fwd+bwd {case_id(shape)}"
    x, g = data(shape)
    reps = reps_for(shape)

    def step():
        for _ in range(reps):
            _, argmax = _ops.pool2d_forward(x, 2, 2, NONE, mode)
            _ops.pool2d_backward(g, argmax, x.shape, 2, 2, NONE, mode)

    timed(benchmark, step, reps * moved_bytes(shape, mode, (2, 2)), f"turbolearn {mode} {case_id(shape)}")


@pytest.mark.parametrize("layout", ["nchw", "channels_last"])
@pytest.mark.parametrize("mode", ["max", "average"])
@pytest.mark.parametrize("shape", SHAPES, ids=case_id)
def test_pool_torch(benchmark, shape, mode, layout):
    benchmark.group = f"{mode} pool 2x2 fwd+bwd {case_id(shape)}"
    x, g = data(shape)
    tx = torch.from_numpy(x).permute(0, 3, 1, 2)  # a channels_last tensor, NCHW-shaped
    tg = torch.from_numpy(g).permute(0, 3, 1, 2)
    if layout == "nchw":
        tx, tg = tx.contiguous(), tg.contiguous()
    tx.requires_grad_(True)
    pool = torch.nn.functional.max_pool2d if mode == "max" else torch.nn.functional.avg_pool2d
    reps = reps_for(shape)

    def step():
        for _ in range(reps):
            pool(tx, 2).backward(tg)
            tx.grad = None

    timed(benchmark, step, reps * moved_bytes(shape, mode, (2, 2)),
          f"torch {layout} {mode} {case_id(shape)}")


GLOBAL = (7, 7, 256)


def global_data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((BATCH, *GLOBAL)).astype(np.float32)
    g = rng.standard_normal((BATCH, 1, 1, GLOBAL[2])).astype(np.float32)
    return x, g


@pytest.mark.parametrize("mode", ["max", "average"])
def test_global_pool_turbolearn(benchmark, mode):
    benchmark.group = f"global {mode} pool fwd+bwd {case_id(GLOBAL)}"
    x, g = global_data()
    window = GLOBAL[:2]
    reps = reps_for(GLOBAL)

    def step():
        for _ in range(reps):
            _, argmax = _ops.pool2d_forward(x, window, window, NONE, mode)
            _ops.pool2d_backward(g, argmax, x.shape, window, window, NONE, mode)

    timed(benchmark, step, reps * moved_bytes(GLOBAL, mode, window), f"turbolearn global {mode}")


@pytest.mark.parametrize("mode", ["max", "average"])
def test_global_pool_numpy(benchmark, mode):
    """The alternative to a full-window pool: a NumPy reduction over (h, w) and its gradient
    (broadcast for the mean; the mask of the maximum for the max)."""
    benchmark.group = f"global {mode} pool fwd+bwd {case_id(GLOBAL)}"
    x, g = global_data()
    area = GLOBAL[0] * GLOBAL[1]
    reps = reps_for(GLOBAL)

    def step():
        for _ in range(reps):
            if mode == "average":
                x.mean(axis=(1, 2), keepdims=True)
                np.broadcast_to(g / area, x.shape).copy()
            else:
                out = x.max(axis=(1, 2), keepdims=True)
                np.where(x == out, g, np.float32(0))

    timed(benchmark, step, reps * moved_bytes(GLOBAL, mode, GLOBAL[:2]), f"numpy global {mode}")


@pytest.mark.parametrize("layout", ["nchw", "channels_last"])
@pytest.mark.parametrize("mode", ["max", "average"])
def test_global_pool_torch(benchmark, mode, layout):
    benchmark.group = f"global {mode} pool fwd+bwd {case_id(GLOBAL)}"
    x, g = global_data()
    tx = torch.from_numpy(x).permute(0, 3, 1, 2)
    tg = torch.from_numpy(g).permute(0, 3, 1, 2)
    if layout == "nchw":
        tx, tg = tx.contiguous(), tg.contiguous()
    tx.requires_grad_(True)
    pool = (torch.nn.functional.adaptive_max_pool2d if mode == "max"
            else torch.nn.functional.adaptive_avg_pool2d)
    reps = reps_for(GLOBAL)

    def step():
        for _ in range(reps):
            out = pool(tx, 1)
            (out[0] if isinstance(out, tuple) else out).backward(tg)
            tx.grad = None

    timed(benchmark, step, reps * moved_bytes(GLOBAL, mode, GLOBAL[:2]),
          f"torch {layout} global {mode}")
