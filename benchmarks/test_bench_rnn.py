"""The rnn op family against PyTorch (CPU), the peer a Keras user would otherwise train with.

- One training step (forward + backward through time, every weight gradient) of one layer:
  LSTM(20) and GRU(20) on the book's (32, 50, 1) batches, and the throughput shape LSTM(256)
  / GRU(256), batch 64, 100 steps, 128 features. torch: nn.LSTM / nn.GRU (batch_first),
  autograd backward. GFLOP/s counts the GEMM formulation: 2 n t G h (3 d + 3 h) (projection,
  dkernel and dx; recurrent product forward and backward, drecurrent_kernel).
- The recurrent part of one epoch of the book's models (7,000 series of 50 steps, batch 32,
  219 batches): 2 x LSTM(20) or 2 x GRU(20) + Dense(1), mean squared error, forward and
  backward (no optimizer): the kernels through _ops, the same through keras._nn's recorded
  op on a GradientTape (what the layers run), and torch's nn modules.

    python -m pytest benchmarks/test_bench_rnn.py --benchmark-only -s
"""
import numpy as np
import pytest

from turbolearn import _ops
from turbolearn.keras import GradientTape, Variable, ops
from turbolearn.keras._nn import dense, rnn_sequence

from conftest import SCALE, optional, run

torch = optional("torch")
pytestmark = pytest.mark.skipif(torch is None, reason="torch is not installed")

GATES = {"simple_rnn": 1, "lstm": 4, "gru": 3}
STEP_CASES = {"lstm20-32x50x1": ("lstm", 32, 50, 1, 20), "gru20-32x50x1": ("gru", 32, 50, 1, 20),
              "lstm256-64x100x128": ("lstm", 64, 100, 128, 256),
              "gru256-64x100x128": ("gru", 64, 100, 128, 256)}


def step_flops(cell, n, t, d, h, need_dx=True):
    return 2 * n * t * GATES[cell] * h * ((3 if need_dx else 2) * d + 3 * h)


def reps_for(n, t, h):
    """Steps per timed call: 200 of the book's shape (about 0.1 s), one of the throughput one."""
    return max(int(200 * SCALE * (32 * 50 * 20 * 20) / (n * t * h * h)), 1)


def layer(rng, cell, d, h):
    gh = GATES[cell] * h
    kernel = (rng.standard_normal((d, gh)) / np.sqrt(d)).astype(np.float32)
    recurrent = (rng.standard_normal((h, gh)) / np.sqrt(h)).astype(np.float32)
    bias = np.zeros((2, gh) if cell == "gru" else gh, np.float32)
    return kernel, recurrent, bias


def torch_module(cell, d, h):
    torch.manual_seed(0)
    return (torch.nn.LSTM if cell == "lstm" else torch.nn.GRU)(d, h, batch_first=True)


@pytest.mark.parametrize("case", list(STEP_CASES))
def test_rnn_step_turbolearn(benchmark, case):
    cell, n, t, d, h = STEP_CASES[case]
    benchmark.group = f"rnn fwd+bwd {case}"
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, t, d)).astype(np.float32)
    kernel, recurrent, bias = layer(rng, cell, d, h)
    grad = rng.standard_normal((n, t, h)).astype(np.float32)
    reps = reps_for(n, t, h)

    def step():
        for _ in range(reps):
            _, _, _, ws = _ops.rnn_forward(cell, x, kernel, recurrent, bias)
            _ops.rnn_backward(cell, x, kernel, recurrent, ws, grad)

    run(benchmark, step, reps * step_flops(cell, n, t, d, h), rounds=5)


@pytest.mark.parametrize("case", list(STEP_CASES))
def test_rnn_step_torch(benchmark, case):
    cell, n, t, d, h = STEP_CASES[case]
    benchmark.group = f"rnn fwd+bwd {case}"
    rng = np.random.default_rng(0)
    module = torch_module(cell, d, h)
    x = torch.from_numpy(rng.standard_normal((n, t, d)).astype(np.float32)).requires_grad_(True)
    grad = torch.from_numpy(rng.standard_normal((n, t, h)).astype(np.float32))
    reps = reps_for(n, t, h)

    def step():
        for _ in range(reps):
            out, _ = module(x)
            out.backward(grad)
            module.zero_grad(set_to_none=True)
            x.grad = None

    run(benchmark, step, reps * step_flops(cell, n, t, d, h), rounds=5)


def book_batches(rng):
    """The book's training set shape: 7,000 series of 50 steps, 1 feature, in batches of 32."""
    n = max(int(7000 * SCALE), 64)
    x = rng.standard_normal((n, 50, 1)).astype(np.float32)
    y = rng.standard_normal((n, 1)).astype(np.float32)
    return [(x[i:i + 32], y[i:i + 32]) for i in range(0, n, 32)]


def epoch_flops(cell, batches):
    per_series = step_flops(cell, 1, 50, 1, 20, need_dx=False) + step_flops(cell, 1, 50, 20, 20)
    return per_series * sum(len(x) for x, _ in batches)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_book_epoch_turbolearn_ops(benchmark, cell):
    """Two layers and the Dense(1) head through _ops, as the fused layers run them."""
    benchmark.group = f"book 2x{cell.upper()}(20)+Dense(1) epoch fwd+bwd"
    rng = np.random.default_rng(0)
    batches = book_batches(rng)
    l1, l2 = layer(rng, cell, 1, 20), layer(rng, cell, 20, 20)
    w = (rng.standard_normal((20, 1)) / np.sqrt(20)).astype(np.float32)
    b = np.zeros(1, np.float32)

    def epoch():
        for x, y in batches:
            seq, _, _, ws1 = _ops.rnn_forward(cell, x, *l1, return_sequences=True)
            last, _, _, ws2 = _ops.rnn_forward(cell, seq, *l2, return_sequences=False)
            pred = _ops.dense_forward(last, w, b, "linear")
            g = (2.0 / pred.size) * (pred - y)
            g_last, _, _ = _ops.dense_backward(last, w, pred, g, "linear", has_bias=True,
                                               need_dx=True)
            g_seq = _ops.rnn_backward(cell, seq, *l2[:2], ws2, g_last, return_sequences=False)[0]
            _ops.rnn_backward(cell, x, *l1[:2], ws1, g_seq, need_dx=False)

    run(benchmark, epoch, epoch_flops(cell, batches), rounds=3)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_book_epoch_turbolearn_tape(benchmark, cell):
    """The same through keras._nn.rnn_sequence and dense on a GradientTape (Variables, the
    recorded ops' Python, the tape walk): what the Keras layers add on top of the kernels."""
    benchmark.group = f"book 2x{cell.upper()}(20)+Dense(1) epoch fwd+bwd"
    rng = np.random.default_rng(0)
    batches = book_batches(rng)
    l1 = [Variable(a) for a in layer(rng, cell, 1, 20)]
    l2 = [Variable(a) for a in layer(rng, cell, 20, 20)]
    head = [Variable((rng.standard_normal((20, 1)) / np.sqrt(20)).astype(np.float32)),
            Variable(np.zeros(1, np.float32))]
    weights = l1 + l2 + head

    def epoch():
        for x, y in batches:
            with GradientTape() as tape:
                seq, _ = rnn_sequence(cell, x, *l1, return_sequences=True)
                last, _ = rnn_sequence(cell, seq, *l2)
                loss = ops.mean(ops.square(dense(last, *head) - y))
            tape.gradient(loss, weights)

    run(benchmark, epoch, epoch_flops(cell, batches), rounds=3)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_book_epoch_torch(benchmark, cell):
    benchmark.group = f"book 2x{cell.upper()}(20)+Dense(1) epoch fwd+bwd"
    rng = np.random.default_rng(0)
    batches = [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in book_batches(rng)]
    l1, l2 = torch_module(cell, 1, 20), torch_module(cell, 20, 20)
    head = torch.nn.Linear(20, 1)
    modules = torch.nn.ModuleList([l1, l2, head])

    def epoch():
        for x, y in batches:
            seq, _ = l1(x)
            out, _ = l2(seq)
            loss = torch.nn.functional.mse_loss(head(out[:, -1]), y)
            loss.backward()
            modules.zero_grad(set_to_none=True)

    run(benchmark, epoch, epoch_flops(cell, batches), rounds=3)
