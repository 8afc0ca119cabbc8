"""The dense and softmax_xent op families against PyTorch (CPU), the peer a Keras user would
otherwise train with: one layer's forward + backward for the 784-300-100-10 MLP's layer
shapes at batch 32, 256 and 1024 (torch: nn.functional.linear + relu, autograd backward),
softmax cross-entropy forward + backward (torch: cross_entropy), and a whole training step
of the MLP (three layers, the loss, every gradient; no optimizer update).

Each timed call runs the step REPS times (the steps take microseconds); GFLOP/s counts the
GEMMs (forward 2 n d_in d_out, backward 2 n d_in d_out for dkernel, the same again for dx
except in the first layer, which needs none).

    python -m pytest benchmarks/test_bench_dense.py --benchmark-only -s
"""
import numpy as np
import pytest

from turbolearn import _ops

from conftest import optional, run

torch = optional("torch")
pytestmark = pytest.mark.skipif(torch is None, reason="torch is not installed")

LAYERS = [(784, 300), (300, 100), (100, 10)]
BATCHES = [32, 256, 1024]


def reps_for(n):
    from conftest import SCALE

    return max(int(20_000 * SCALE) // n, 2)


def layer_flops(n, d_in, d_out, need_dx):
    return 2 * n * d_in * d_out * (3 if need_dx else 2)


def layer_data(n, d_in, d_out):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, d_in)).astype(np.float32)
    kernel = (rng.standard_normal((d_in, d_out)) / np.sqrt(d_in)).astype(np.float32)
    bias = np.zeros(d_out, np.float32)
    grad = rng.standard_normal((n, d_out)).astype(np.float32)
    return x, kernel, bias, grad


CASES = [(n, d_in, d_out) for n in BATCHES for d_in, d_out in LAYERS]


def case_id(case):
    n, d_in, d_out = case
    return f"{d_in}x{d_out}-batch{n}"


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_dense_turbolearn(benchmark, case):
    n, d_in, d_out = case
    benchmark.group = f"dense relu fwd+bwd {case_id(case)}"
    x, kernel, bias, grad = layer_data(n, d_in, d_out)
    need_dx = d_in != 784  # the first layer never needs dx
    out = np.empty((n, d_out), np.float32)
    reps = reps_for(n)

    def step():
        for _ in range(reps):
            _ops.dense_forward(x, kernel, bias, "relu", out=out)
            _ops.dense_backward(x, kernel, out, grad, "relu", has_bias=True, need_dx=need_dx)

    run(benchmark, step, reps * layer_flops(n, d_in, d_out, need_dx), rounds=5)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_dense_torch(benchmark, case):
    n, d_in, d_out = case
    benchmark.group = f"dense relu fwd+bwd {case_id(case)}"
    x, kernel, bias, grad = layer_data(n, d_in, d_out)
    need_dx = d_in != 784
    tx = torch.from_numpy(x).requires_grad_(need_dx)
    tw = torch.from_numpy(kernel.T.copy()).requires_grad_(True)  # torch stores (out, in)
    tb = torch.from_numpy(bias).requires_grad_(True)
    tg = torch.from_numpy(grad)
    reps = reps_for(n)

    def step():
        for _ in range(reps):
            out = torch.relu(torch.nn.functional.linear(tx, tw, tb))
            out.backward(tg)
            tw.grad = tb.grad = tx.grad = None

    run(benchmark, step, reps * layer_flops(n, d_in, d_out, need_dx), rounds=5)


@pytest.mark.parametrize("n", BATCHES)
def test_softmax_xent_turbolearn(benchmark, n):
    benchmark.group = f"softmax_xent fwd+bwd batch {n} x 10"
    logits = np.random.default_rng(0).standard_normal((n, 10)).astype(np.float32)
    labels = np.random.default_rng(1).integers(0, 10, n)
    ones = np.full(n, 1.0 / n, np.float32)
    reps = reps_for(n)

    def step():
        for _ in range(reps):
            _, probs = _ops.softmax_xent_forward(logits, labels)
            _ops.softmax_xent_backward(probs, labels, ones)

    run(benchmark, step, 0, rounds=5)


@pytest.mark.parametrize("n", BATCHES)
def test_softmax_xent_torch(benchmark, n):
    benchmark.group = f"softmax_xent fwd+bwd batch {n} x 10"
    logits = torch.from_numpy(np.random.default_rng(0).standard_normal((n, 10)).astype(np.float32))
    logits.requires_grad_(True)
    labels = torch.from_numpy(np.random.default_rng(1).integers(0, 10, n))
    reps = reps_for(n)

    def step():
        for _ in range(reps):
            torch.nn.functional.cross_entropy(logits, labels).backward()
            logits.grad = None

    run(benchmark, step, 0, rounds=5)


def mlp_flops(n):
    return sum(layer_flops(n, d_in, d_out, d_in != 784) for d_in, d_out in LAYERS)


@pytest.mark.parametrize("n", BATCHES)
def test_mlp_step_turbolearn(benchmark, n):
    """Forward and backward of the whole 784-300-100-10 MLP (relu, relu, logits) and its loss."""
    benchmark.group = f"MLP 784-300-100-10 train step batch {n}"
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, 784)).astype(np.float32)
    labels = rng.integers(0, 10, n)
    params = [((rng.standard_normal((i, o)) / np.sqrt(i)).astype(np.float32), np.zeros(o, np.float32))
              for i, o in LAYERS]
    outs = [np.empty((n, o), np.float32) for _, o in LAYERS]
    acts = ["relu", "relu", "linear"]
    grad_loss = np.full(n, 1.0 / n, np.float32)
    reps = reps_for(n)

    def step():
        for _ in range(reps):
            h = x
            for (w, b), out, act in zip(params, outs, acts):
                h = _ops.dense_forward(h, w, b, act, out=out)
            _, probs = _ops.softmax_xent_forward(h, labels)
            g = _ops.softmax_xent_backward(probs, labels, grad_loss)
            for i in (2, 1, 0):
                inputs = outs[i - 1] if i else x
                g, _, _ = _ops.dense_backward(inputs, params[i][0], outs[i], g, acts[i],
                                              has_bias=True, need_dx=i > 0)

    run(benchmark, step, reps * mlp_flops(n), rounds=5)


@pytest.mark.parametrize("n", BATCHES)
def test_mlp_step_torch(benchmark, n):
    benchmark.group = f"MLP 784-300-100-10 train step batch {n}"
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(784, 300), torch.nn.ReLU(), torch.nn.Linear(300, 100),
                                torch.nn.ReLU(), torch.nn.Linear(100, 10))
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.standard_normal((n, 784)).astype(np.float32))
    labels = torch.from_numpy(rng.integers(0, 10, n))
    reps = reps_for(n)

    def step():
        for _ in range(reps):
            torch.nn.functional.cross_entropy(model(x), labels).backward()
            model.zero_grad(set_to_none=True)

    run(benchmark, step, reps * mlp_flops(n), rounds=5)
