"""The conv2d op family against PyTorch (CPU), per layer shape of the book's CNNs at batch 32:
the forward pass, the data gradient, the filter gradient (each alone), and a layer's whole
training step (forward with bias and relu, then every gradient: delta, filter, bias, data).

The target shape also runs on one thread each (`one-thread` groups): on this shared 2-core
machine the second core is often busy with other work, which the 2-thread figures then
reflect for both libraries unevenly; one core each compares the kernels alone.

turbolearn runs NHWC with Keras' kernel layout; torch runs its default NCHW (what a torch user,
and Keras on torch, hands it), its passes alone through aten.convolution_backward (the kernel
autograd calls). The benchmark group names the algorithm turbolearn chose
(_ops.conv2d_algorithms: gemm, depthwise, direct, single_channel, scatter or im2col).
GFLOP/s counts 2 n oh ow kh kw c/groups f per pass (three for a training step).

    python -m pytest benchmarks/test_bench_conv2d.py --benchmark-only -s
"""
import contextlib

import numpy as np
import pytest

import turbolearn
from turbolearn import _ops

from conftest import optional, run

torch = optional("torch")
pytestmark = pytest.mark.skipif(torch is None, reason="torch is not installed")

# name: (n, h, w, c, f, kernel, stride, groups, padding); "transpose": a Conv2DTranspose whose
# input is (n, h, w, c) and output has f channels.
SHAPES = {
    "target 28x28 64-64 k3": (32, 28, 28, 64, 64, 3, 1, 1, "same"),
    "lenet C1 28x28 1-6 k5": (32, 28, 28, 1, 6, 5, 1, 1, "same"),
    "lenet C3 14x14 6-16 k5": (32, 14, 14, 6, 16, 5, 1, 1, "valid"),
    "fashion 28x28 1-64 k7": (32, 28, 28, 1, 64, 7, 1, 1, "same"),
    "fashion 14x14 64-128 k3": (32, 14, 14, 64, 128, 3, 1, 1, "same"),
    "fashion 7x7 128-256 k3": (32, 7, 7, 128, 256, 3, 1, 1, "same"),
    "resnet 28x28 128-128 k3": (32, 28, 28, 128, 128, 3, 1, 1, "same"),
    "resnet 56x56 64-128 k3 s2": (32, 56, 56, 64, 128, 3, 2, 1, "same"),
    "resnet 56x56 64-128 k1 s2": (32, 56, 56, 64, 128, 1, 2, 1, "same"),
    "depthwise 28x28 64 k3": (32, 28, 28, 64, 64, 3, 1, 64, "same"),
}
TRANSPOSE_SHAPES = {
    "dcgan 7x7 128-64 k5 s2 transpose": (32, 7, 7, 128, 64, 5, 2, 1, "same"),
}
PHASES = ["forward", "backward-data", "backward-filter", "train-step"]


def reps_for(flops):
    from conftest import SCALE

    return max(int(2e9 * SCALE / flops), 1)


def problem(shape):
    n, h, w, c, f, k, s, groups, padding = shape
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, h, w, c)).astype(np.float32)
    kernel = (rng.standard_normal((k, k, c // groups, f)) / np.sqrt(k * k * c / groups)).astype(np.float32)
    bias = np.zeros(f, np.float32)
    pads = (_ops.conv_padding(h, k, s, 1, padding), _ops.conv_padding(w, k, s, 1, padding))
    out = _ops.conv2d_forward(x, kernel, bias, (s, s), pads, (1, 1), groups, "relu")
    grad = rng.standard_normal(out.shape).astype(np.float32)
    return x, kernel, bias, pads, out, grad


def flops(shape, out_shape, phase):
    n, h, w, c, f, k, s, groups, padding = shape
    per_pass = 2 * np.prod(out_shape[:3]) * k * k * (c // groups) * f
    return int(per_pass * (3 if phase == "train-step" else 1))


def algorithm(x, kernel, shape, pads, phase):
    s, groups = shape[6], shape[7]
    chosen = _ops.conv2d_algorithms(x, kernel, (s, s), pads, (1, 1), groups)
    if phase == "train-step":
        return "/".join(chosen[p] for p in ("forward", "filter", "data"))
    return chosen[{"forward": "forward", "backward-data": "data", "backward-filter": "filter"}[phase]]


def torch_problem(x, kernel, bias, grad):
    to_nchw = lambda a: torch.from_numpy(a).permute(0, 3, 1, 2).contiguous()  # noqa: E731
    return (to_nchw(x), torch.from_numpy(kernel).permute(3, 2, 0, 1).contiguous(),
            torch.from_numpy(bias), to_nchw(grad))


@contextlib.contextmanager
def threads(count):
    """Both libraries on `count` threads (None: as they are) for the duration."""
    if count is None:
        yield
        return
    ours, theirs = turbolearn.get_num_threads(), torch.get_num_threads()
    turbolearn.set_num_threads(count)
    torch.set_num_threads(count)
    try:
        yield
    finally:
        turbolearn.set_num_threads(ours)
        torch.set_num_threads(theirs)


CASES = ([(name, phase, None) for name in SHAPES for phase in PHASES] +
         [("target 28x28 64-64 k3", phase, 1) for phase in PHASES])


def group(name, phase, count, chosen):
    return f"conv2d {phase} {name}{' one-thread' if count else ''} [{chosen}]"


def turbolearn_step(shape, phase, x, kernel, bias, pads, out, grad):
    s, groups = (shape[6],) * 2, shape[7]
    h, w = x.shape[1:3]
    return {
        "forward": lambda: _ops.conv2d_forward(x, kernel, bias, s, pads, (1, 1), groups, "relu",
                                               out=out),
        "backward-data": lambda: _ops.conv2d_transpose_forward(grad, kernel, None, (h, w), s, pads,
                                                               (1, 1), groups, "linear"),
        "backward-filter": lambda: _ops.conv2d_backward(x, kernel, out, grad, s, pads, (1, 1),
                                                        groups, "linear", has_bias=True,
                                                        need_dx=False),
        "train-step": lambda: (
            _ops.conv2d_forward(x, kernel, bias, s, pads, (1, 1), groups, "relu", out=out),
            _ops.conv2d_backward(x, kernel, out, grad, s, pads, (1, 1), groups, "relu",
                                 has_bias=True, need_dx=True)),
    }[phase]


def torch_step(shape, phase, x, kernel, bias, pads, out, grad):
    tx, tk, tb, tg = torch_problem(x, kernel, bias, grad)
    s, groups = shape[6], shape[7]
    (top, bottom), (left, right) = pads
    symmetric = top == bottom and left == right
    # torch pads symmetrically; Keras' asymmetric 'same' pads the input first, as Keras does
    pad = (top, left) if symmetric else (0, 0)
    if not symmetric:
        tx = torch.nn.functional.pad(tx, (left, right, top, bottom))
    backward = torch.ops.aten.convolution_backward
    args = ([s, s], list(pad), [1, 1], False, [0, 0], groups)
    txr, tkr, tbr = (t.clone().requires_grad_(True) for t in (tx, tk, tb))

    def train_step():
        y = torch.relu(torch.nn.functional.conv2d(txr, tkr, tbr, stride=s, padding=pad,
                                                  groups=groups))
        y.backward(tg)
        txr.grad = tkr.grad = tbr.grad = None

    def forward():
        with torch.no_grad():
            torch.relu(torch.nn.functional.conv2d(tx, tk, tb, stride=s, padding=pad, groups=groups))

    return {
        "forward": forward,
        "backward-data": lambda: backward(tg, tx, tk, [shape[4]], *args, [True, False, False]),
        "backward-filter": lambda: backward(tg, tx, tk, [shape[4]], *args, [False, True, True]),
        "train-step": train_step,
    }[phase]


# The library is the innermost parameter, so each case runs turbolearn then torch back to
# back, under the same conditions of this shared machine.
@pytest.mark.parametrize("library", ["turbolearn", "torch"])
@pytest.mark.parametrize("name, phase, count", CASES)
def test_conv2d(benchmark, name, phase, count, library):
    shape = SHAPES[name]
    x, kernel, bias, pads, out, grad = problem(shape)
    benchmark.group = group(name, phase, count, algorithm(x, kernel, shape, pads, phase))
    make = turbolearn_step if library == "turbolearn" else torch_step
    step = make(shape, phase, x, kernel, bias, pads, out, grad)
    reps = reps_for(flops(shape, out.shape, phase))

    def repeat():
        for _ in range(reps):
            step()

    with threads(count):
        run(benchmark, repeat, reps * flops(shape, out.shape, phase), rounds=5)


def transpose_problem(shape):
    n, h, w, c, f, k, s, groups, padding = shape
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, h, w, c)).astype(np.float32)
    kernel = (rng.standard_normal((k, k, f, c)) / np.sqrt(k * k * c)).astype(np.float32)
    size_h, pad_h = _ops.conv_transpose_padding(h, k, s, 1, padding)
    size_w, pad_w = _ops.conv_transpose_padding(w, k, s, 1, padding)
    out = _ops.conv2d_transpose_forward(x, kernel, None, (size_h, size_w), (s, s), (pad_h, pad_w),
                                        (1, 1), 1, "relu")
    grad = rng.standard_normal(out.shape).astype(np.float32)
    return x, kernel, (size_h, size_w), (pad_h, pad_w), out, grad


def transpose_flops(shape, phase):
    n, h, w, c, f, k = shape[:6]
    return 2 * n * h * w * k * k * c * f * (3 if phase == "train-step" else 1)


TRANSPOSE_CASES = [(name, phase) for name in TRANSPOSE_SHAPES for phase in ("forward", "train-step")]


def turbolearn_transpose_step(shape, phase, x, kernel, size, pads, out, grad):
    s = (shape[6],) * 2
    bias = np.zeros(kernel.shape[2], np.float32)

    def step():
        _ops.conv2d_transpose_forward(x, kernel, bias, size, s, pads, (1, 1), 1, "relu", out=out)
        if phase == "train-step":
            _ops.conv2d_transpose_backward(x, kernel, out, grad, s, pads, (1, 1), 1, "relu",
                                           has_bias=True, need_dx=True)
    return step


def torch_transpose_step(shape, phase, x, kernel, size, pads, out, grad):
    s = shape[6]
    # torch's transposed convolution: full output cropped to Keras' window, as Keras on torch
    (top, _), (left, _) = pads
    tx = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous().requires_grad_(phase == "train-step")
    tk = torch.from_numpy(kernel).permute(3, 2, 0, 1).contiguous().requires_grad_(phase == "train-step")
    tb = torch.zeros(kernel.shape[2], requires_grad=phase == "train-step")
    tg = torch.from_numpy(grad).permute(0, 3, 1, 2).contiguous()
    assert top >= 0 and left >= 0  # a crop, no zero extension, for these shapes

    def layer():
        y = torch.nn.functional.conv_transpose2d(tx, tk, tb, stride=s)
        return torch.relu(y[:, :, top:top + size[0], left:left + size[1]])

    def step():
        if phase == "train-step":
            layer().backward(tg)
            tx.grad = tk.grad = tb.grad = None
        else:
            with torch.no_grad():
                layer()
    return step


@pytest.mark.parametrize("library", ["turbolearn", "torch"])
@pytest.mark.parametrize("name, phase", TRANSPOSE_CASES)
def test_conv2d_transpose(benchmark, name, phase, library):
    shape = TRANSPOSE_SHAPES[name]
    x, kernel, size, pads, out, grad = transpose_problem(shape)
    chosen = _ops.conv2d_algorithms(out, kernel, (shape[6],) * 2, pads, (1, 1), 1)
    benchmark.group = f"conv2d {phase} {name} [{chosen['data']}]"
    make = turbolearn_transpose_step if library == "turbolearn" else torch_transpose_step
    step = make(shape, phase, x, kernel, size, pads, out, grad)
    reps = reps_for(transpose_flops(shape, phase))

    def repeat():
        for _ in range(reps):
            step()

    run(benchmark, repeat, reps * transpose_flops(shape, phase), rounds=5)
