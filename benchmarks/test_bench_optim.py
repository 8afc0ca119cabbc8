"""The optim op family: one optimizer step over the 6 parameter tensors of the book's
784-300-100-10 MLP (266,610 float32 parameters), turbolearn against torch.optim (foreach
implementation, the default), for SGD with momentum and Adam. Also the per-model entry point
(one binding call for all 6 tensors) against one call per tensor, and the whole
keras.optimizers step (Python scalars, checks, constraints) against the bare kernel call.

Each benchmark prints its GB/s: bytes read and written once per element (SGD momentum:
p, g, m read, p, m written = 20 B; Adam: 28 B) over the median time.
"""
import numpy as np
import pytest

from turbolearn import _ops
from turbolearn.keras import Variable, optimizers

from conftest import optional

torch = optional("torch")
SHAPES = [(784, 300), (300,), (300, 100), (100,), (100, 10), (10,)]
N = sum(int(np.prod(s)) for s in SHAPES)
BYTES = {"sgd": 20 * N, "adam": 28 * N}
FLOPS = {"sgd": 4 * N, "adam": 12 * N}


def timed(benchmark, fn, rule, label):
    benchmark.extra_info["flops"] = FLOPS[rule]
    benchmark.pedantic(fn, rounds=300, iterations=5, warmup_rounds=20)
    if benchmark.stats is None:  # --benchmark-disable (CI's smoke run): fn ran once, untimed
        return
    median = benchmark.stats.stats.median
    print(f"\n{label}: {median * 1e6:.1f} us per step, {BYTES[rule] / median / 1e9:.1f} GB/s")


def mlp(rng):
    params = [(0.05 * rng.standard_normal(s)).astype(np.float32) for s in SHAPES]
    grads = [(0.01 * rng.standard_normal(s)).astype(np.float32) for s in SHAPES]
    return params, grads


CONFIGS = {"sgd": ("SGD", dict(learning_rate=0.01, momentum=0.9)),
           "adam": ("Adam", dict(learning_rate=0.001))}


@pytest.mark.parametrize("rule", ["sgd", "adam"])
def test_turbolearn_keras_step(benchmark, rng, rule):
    benchmark.group = f"optim-{rule}-mlp"
    params, grads = mlp(rng)
    vs = [Variable(p, name=f"p{i}") for i, p in enumerate(params)]
    name, kwargs = CONFIGS[rule]
    opt = getattr(optimizers, name)(**kwargs)
    opt.build(vs)
    timed(benchmark, lambda: opt.apply(grads, vs), rule, f"turbolearn keras.optimizers.{name}")


@pytest.mark.parametrize("rule", ["sgd", "adam"])
def test_turbolearn_kernel_one_call(benchmark, rng, rule):
    benchmark.group = f"optim-{rule}-mlp"
    params, grads = mlp(rng)
    flags = _ops.optim.MOMENTUM if rule == "sgd" else 0
    slots = [[np.zeros_like(p) for _ in range(_ops.optim_slot_count(rule, flags))] for p in params]
    coeffs = (0.9,) if rule == "sgd" else (0.9, 0.1, 0.999, 0.001, 0.001, 1e-7)
    timed(benchmark, lambda: _ops.optim_update(rule, params, grads, slots, lr=0.01, coeffs=coeffs,
                                               flags=flags), rule, "turbolearn kernel, one call")


@pytest.mark.parametrize("rule", ["sgd", "adam"])
def test_turbolearn_kernel_per_tensor(benchmark, rng, rule):
    benchmark.group = f"optim-{rule}-mlp"
    params, grads = mlp(rng)
    flags = _ops.optim.MOMENTUM if rule == "sgd" else 0
    slots = [[np.zeros_like(p) for _ in range(_ops.optim_slot_count(rule, flags))] for p in params]
    coeffs = (0.9,) if rule == "sgd" else (0.9, 0.1, 0.999, 0.001, 0.001, 1e-7)

    def step():
        for p, g, s in zip(params, grads, slots):
            _ops.optim_update(rule, [p], [g], [s], lr=0.01, coeffs=coeffs, flags=flags)

    timed(benchmark, step, rule, "turbolearn kernel, one call per tensor")


@pytest.mark.skipif(torch is None, reason="torch is not installed")
@pytest.mark.parametrize("rule", ["sgd", "adam"])
def test_torch_optim(benchmark, rng, rule):
    benchmark.group = f"optim-{rule}-mlp"
    params, grads = mlp(rng)
    tp = [torch.nn.Parameter(torch.from_numpy(p)) for p in params]
    for p, g in zip(tp, grads):
        p.grad = torch.from_numpy(g)
    opt = (torch.optim.SGD(tp, lr=0.01, momentum=0.9) if rule == "sgd"
           else torch.optim.Adam(tp, lr=0.001, eps=1e-7))
    opt.step()  # creates the state (momentum buffers)
    timed(benchmark, opt.step, rule, f"torch.optim.{type(opt).__name__}")
