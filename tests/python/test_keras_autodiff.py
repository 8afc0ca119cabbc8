"""keras.ops forward values and tape gradients against PyTorch autograd and finite
differences; GradientTape semantics as TensorFlow defines them.

Tolerances: float64 throughout against torch (1e-10 relative), so a wrong derivative shows
at once; finite differences with step 1e-6 agree to 1e-6.
"""
import numpy as np
import pytest

from turbolearn import keras
from turbolearn.keras import ops

torch = pytest.importorskip("torch")
F = torch.nn.functional

rng = np.random.default_rng(0)


def _grad_ours(fn, *arrays):
    """Values of fn(*arrays) and d sum(fn * weights)/d each array, on the tape."""
    variables = [keras.Variable(a, dtype="float64") for a in arrays]
    with keras.GradientTape() as tape:
        out = fn(*variables)
        weights = np.linspace(0.5, 1.5, np.size(out.value)).reshape(np.shape(out.value))
        loss = ops.sum(ops.multiply(out, weights))
    grads = tape.gradient(loss, variables)
    return np.asarray(out), [None if g is None else np.asarray(g) for g in grads], weights


def _grad_torch(fn, *arrays, weights):
    tensors = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    out = fn(*tensors)
    (out * torch.tensor(weights)).sum().backward()
    return out.detach().numpy(), [t.grad.numpy() for t in tensors]


def _check(ours, theirs, *arrays):
    out, grads, weights = _grad_ours(ours, *arrays)
    ref_out, ref_grads = _grad_torch(theirs, *arrays, weights=weights)
    np.testing.assert_allclose(out, ref_out, rtol=1e-10, atol=1e-12)
    for g, r in zip(grads, ref_grads):
        np.testing.assert_allclose(g, r, rtol=1e-9, atol=1e-12)


UNARY = {
    "exp": (ops.exp, torch.exp), "tanh": (ops.tanh, torch.tanh),
    "sigmoid": (ops.sigmoid, torch.sigmoid), "relu": (ops.relu, torch.relu),
    "square": (ops.square, torch.square), "abs": (ops.abs, torch.abs),
    "softplus": (ops.softplus, F.softplus), "elu": (ops.elu, F.elu), "selu": (ops.selu, F.selu),
    "silu": (ops.silu, F.silu), "softsign": (ops.softsign, F.softsign),
    "gelu_tanh": (ops.gelu, lambda x: F.gelu(x, approximate="tanh")),
    "gelu_exact": (lambda x: ops.gelu(x, approximate=False), F.gelu),
    "leaky_relu": (lambda x: ops.leaky_relu(x, 0.2), lambda x: F.leaky_relu(x, 0.2)),
    # torch.nn.functional.hardsigmoid differentiates with a float32 1/6: the formula instead
    "hard_sigmoid": (ops.hard_sigmoid, lambda x: torch.clip(x / 6 + 0.5, 0, 1)),
    "relu6": (ops.relu6, F.relu6),
    "negative": (ops.negative, torch.neg), "sin": (ops.sin, torch.sin),
    "cos": (ops.cos, torch.cos), "erf": (ops.erf, torch.erf),
    "softmax": (ops.softmax, lambda x: torch.softmax(x, -1)),
    "softmax_axis0": (lambda x: ops.softmax(x, axis=0), lambda x: torch.softmax(x, 0)),
    "log_softmax": (ops.log_softmax, lambda x: torch.log_softmax(x, -1)),
    "logsumexp": (lambda x: ops.logsumexp(x, axis=1), lambda x: torch.logsumexp(x, 1)),
    "log_sigmoid": (ops.log_sigmoid, F.logsigmoid),
    "clip": (lambda x: ops.clip(x, -0.5, 0.7), lambda x: torch.clip(x, -0.5, 0.7)),
    "cumsum": (lambda x: ops.cumsum(x, axis=1), lambda x: torch.cumsum(x, 1)),
}
POSITIVE = {
    "log": (ops.log, torch.log), "sqrt": (ops.sqrt, torch.sqrt), "log1p": (ops.log1p, torch.log1p),
    "prod": (lambda x: ops.prod(x, axis=0), lambda x: torch.prod(x, 0)),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@pytest.mark.parametrize("shape", [(1, 1), (3, 7), (2, 3, 5)])
def test_unary_ops_match_torch(name, shape):
    x = rng.normal(size=shape) * 2
    _check(*UNARY[name], x)


@pytest.mark.parametrize("name", sorted(POSITIVE))
def test_positive_domain_ops_match_torch(name):
    _check(*POSITIVE[name], rng.uniform(0.2, 3, size=(4, 6)))


BINARY = {
    "add": (ops.add, torch.add), "subtract": (ops.subtract, torch.sub),
    "multiply": (ops.multiply, torch.mul), "divide": (ops.divide, torch.div),
    "maximum": (ops.maximum, torch.maximum), "minimum": (ops.minimum, torch.minimum),
    "operators": (lambda a, b: (a - b) * a / (b * b + 1) + 2 - a,
                  lambda a, b: (a - b) * a / (b * b + 1) + 2 - a),
    "where": (lambda a, b: ops.where(a > b, a, b * 2), lambda a, b: torch.where(a > b, a, b * 2)),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("shapes", [((4, 5), (4, 5)), ((4, 5), (5,)), ((3, 1, 5), (4, 1)),
                                    ((1,), (2, 3))])
def test_broadcasting_binary_ops_match_torch(name, shapes):
    a, b = rng.normal(size=shapes[0]), rng.normal(size=shapes[1])
    _check(*BINARY[name], a, b)


def test_power_matches_torch():
    _check(ops.power, torch.pow, rng.uniform(0.5, 2, (3, 4)), rng.normal(size=(3, 4)))


@pytest.mark.parametrize("shapes", [((4, 5), (5, 3)), ((2, 4, 5), (5, 3)), ((5,), (5, 3)),
                                    ((4, 5), (5,)), ((2, 4, 5), (2, 5, 3)), ((1, 4, 5), (3, 5, 2))])
def test_matmul_matches_torch(shapes):
    _check(ops.matmul, torch.matmul, rng.normal(size=shapes[0]), rng.normal(size=shapes[1]))


REDUCTIONS = [("sum", torch.sum), ("mean", torch.mean), ("max", torch.amax),
              ("min", torch.amin)]


@pytest.mark.parametrize("name,reference", REDUCTIONS)
@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 2)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions_match_torch(name, reference, axis, keepdims):
    x = rng.normal(size=(3, 4, 5))
    dims = tuple(range(3)) if axis is None else axis
    _check(lambda v: getattr(ops, name)(v, axis=axis, keepdims=keepdims),
           lambda t: reference(t, dim=dims, keepdim=keepdims), x)


def test_max_splits_the_gradient_between_ties():
    v = keras.Variable(np.array([1.0, 3.0, 3.0]), dtype="float64")
    with keras.GradientTape() as tape:
        y = ops.max(v)
    np.testing.assert_array_equal(tape.gradient(y, v), [0, 0.5, 0.5])


SHAPE_OPS = {
    "reshape": (lambda x: ops.reshape(x, (6, -1)), lambda x: x.reshape(6, -1)),
    "transpose": (ops.transpose, lambda x: x.permute(2, 1, 0)),
    "transpose_axes": (lambda x: ops.transpose(x, (1, 2, 0)), lambda x: x.permute(1, 2, 0)),
    "expand_dims": (lambda x: ops.expand_dims(x, 1), lambda x: x.unsqueeze(1)),
    "getitem": (lambda x: x[1:, ::2, 0], lambda x: x[1:, ::2, 0]),
    "getitem_fancy": (lambda x: x[[0, 2, 0]], lambda x: x[[0, 2, 0]]),
    "take": (lambda x: ops.take(x, np.array([3, 0, 3]), axis=1),
             lambda x: x.index_select(1, torch.tensor([3, 0, 3]))),
    "tile": (lambda x: ops.tile(x, (2, 1, 3)), lambda x: x.repeat(2, 1, 3)),
    "repeat": (lambda x: ops.repeat(x, 2, axis=1), lambda x: x.repeat_interleave(2, dim=1)),
    "var": (lambda x: ops.var(x, axis=1), lambda x: x.var(1, unbiased=False)),
    "std": (lambda x: ops.std(x, axis=0), lambda x: x.std(0, unbiased=False)),
    "norm": (lambda x: ops.norm(x, axis=-1), lambda x: x.norm(dim=-1)),
}


@pytest.mark.parametrize("name", sorted(SHAPE_OPS))
def test_shape_ops_match_torch(name):
    _check(*SHAPE_OPS[name], rng.normal(size=(3, 4, 2)))


def test_concatenate_and_stack_match_torch():
    a, b = rng.normal(size=(2, 3)), rng.normal(size=(2, 5))
    _check(lambda x, y: ops.concatenate([x, y], axis=1), lambda x, y: torch.cat([x, y], 1), a, b)
    c = rng.normal(size=(2, 3))
    _check(lambda x, y: ops.stack([x, y, x], axis=1), lambda x, y: torch.stack([x, y, x], 1),
           a, c)


def test_squeeze_gradient_has_the_input_shape():
    _check(lambda x: ops.squeeze(x, 1), lambda x: x.squeeze(1), rng.normal(size=(3, 1, 4)))


def test_softplus_is_finite_and_exact_for_large_inputs():
    x = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0], dtype="float32")
    y = np.asarray(ops.softplus(x))
    assert np.all(np.isfinite(y))
    np.testing.assert_allclose(y, F.softplus(torch.tensor(x)).numpy(), rtol=1e-6, atol=1e-30)
    v = keras.Variable(x)
    with keras.GradientTape() as tape:
        s = ops.sum(ops.softplus(v))
    np.testing.assert_allclose(tape.gradient(s, v), [0, np.exp(-50), 0.5, 1, 1], atol=1e-7)


def test_composite_function_matches_central_finite_differences():
    x0 = rng.normal(size=(3, 4))
    w0 = rng.normal(size=(4, 2))

    def f(x, w):
        h = ops.tanh(ops.matmul(x, w))
        return ops.mean(ops.log_softmax(h * 3.0) ** 2) + ops.sum(ops.softplus(-x))

    x, w = keras.Variable(x0, dtype="float64"), keras.Variable(w0, dtype="float64")
    with keras.GradientTape() as tape:
        loss = f(x, w)
    gx, gw = tape.gradient(loss, [x, w])
    eps = 1e-6
    for var, grad, base in ((x, gx, x0), (w, gw, w0)):
        numeric = np.zeros_like(base)
        for i in np.ndindex(base.shape):
            for sign in (1, -1):
                probe = base.copy()
                probe[i] += sign * eps
                var.assign(probe)
                numeric[i] += sign * float(f(x, w)) / (2 * eps)
            var.assign(base)
        np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)


# --- GradientTape semantics ----------------------------------------------------------------


def test_non_persistent_tape_computes_gradients_once():
    w = keras.Variable(2.0)
    with keras.GradientTape() as tape:
        y = w * w
    assert float(tape.gradient(y, w)) == 4.0
    with pytest.raises(RuntimeError, match="non-persistent"):
        tape.gradient(y, w)


def test_persistent_tape_computes_gradients_repeatedly():
    w1, w2 = keras.Variable(5.0), keras.Variable(3.0)
    with keras.GradientTape(persistent=True) as tape:
        z = 3 * w1 ** 2 + 2 * w1 * w2
    assert float(tape.gradient(z, w1)) == pytest.approx(36.0)
    assert float(tape.gradient(z, w2)) == pytest.approx(10.0)


def test_book_example_gradient_of_a_function_of_two_variables():
    w1, w2 = keras.Variable(5.0), keras.Variable(3.0)
    with keras.GradientTape() as tape:
        z = 3 * w1 ** 2 + 2 * w1 * w2
    gradients = tape.gradient(z, [w1, w2])
    np.testing.assert_allclose([float(g) for g in gradients], [36.0, 10.0])


def test_constants_need_watch_and_variables_do_not():
    c = ops.convert_to_tensor(np.float32(5.0))
    w = keras.Variable(3.0)
    with keras.GradientTape(persistent=True) as tape:
        z = c * c + w
    assert tape.gradient(z, c) is None
    with keras.GradientTape() as tape:
        tape.watch(c)
        z = c * c + w
    assert float(tape.gradient(z, c)) == pytest.approx(10.0)


def test_watch_accessed_variables_false_watches_only_what_is_watched():
    a, b = keras.Variable(2.0), keras.Variable(3.0)
    with keras.GradientTape(watch_accessed_variables=False) as tape:
        tape.watch(a)
        y = a * b
    ga, gb = tape.gradient(y, [a, b])
    assert float(ga) == 3.0 and gb is None
    assert tape.watched_variables() == (a,)


def test_non_trainable_variables_are_not_watched():
    frozen = keras.Variable(2.0, trainable=False)
    with keras.GradientTape() as tape:
        y = frozen * 3
    assert tape.gradient(y, frozen) is None


def test_unconnected_sources_give_none_or_zeros():
    a, b = keras.Variable([1.0, 2.0]), keras.Variable([3.0, 4.0])
    with keras.GradientTape(persistent=True) as tape:
        y = ops.sum(a * 2)
    assert tape.gradient(y, b) is None
    np.testing.assert_array_equal(tape.gradient(y, b, unconnected_gradients="zero"), [0, 0])
    with pytest.raises(ValueError, match="unconnected_gradients"):
        tape.gradient(y, b, unconnected_gradients="nan")


def test_stop_gradient_and_stop_recording_cut_the_graph():
    w = keras.Variable(3.0)
    with keras.GradientTape(persistent=True) as tape:
        y = w * keras.stop_gradient(w)
        with tape.stop_recording():
            hidden = w * 10
        z = y + hidden
    assert float(tape.gradient(y, w)) == 3.0
    assert float(tape.gradient(z, w)) == 3.0


def test_gradient_of_a_non_scalar_target_sums_and_output_gradients_seed():
    w = keras.Variable([1.0, 2.0, 3.0])
    with keras.GradientTape(persistent=True) as tape:
        y = w * w
    np.testing.assert_array_equal(tape.gradient(y, w), [2, 4, 6])
    np.testing.assert_array_equal(tape.gradient(y, w, output_gradients=np.array([1., 0, 2])),
                                  [2, 0, 12])


def test_gradient_keeps_the_structure_of_the_sources():
    a, b = keras.Variable(1.0), keras.Variable(2.0)
    with keras.GradientTape() as tape:
        y = a * b
    grads = tape.gradient(y, {"a": a, "pair": (b, a)})
    assert set(grads) == {"a", "pair"} and isinstance(grads["pair"], tuple)
    assert float(grads["a"]) == 2.0 and float(grads["pair"][0]) == 1.0


def test_jacobian_matches_torch():
    x0 = rng.normal(size=(3,))
    w0 = rng.normal(size=(3, 2))
    x, w = keras.Variable(x0, dtype="float64"), keras.Variable(w0, dtype="float64")
    with keras.GradientTape(persistent=True) as tape:
        y = ops.tanh(ops.matmul(x, w))
    jx, jw = tape.jacobian(y, [x, w])
    tx, tw = torch.autograd.functional.jacobian(lambda a, b: torch.tanh(a @ b),
                                                (torch.tensor(x0), torch.tensor(w0)))
    np.testing.assert_allclose(jx, tx.numpy(), rtol=1e-12)
    np.testing.assert_allclose(jw, tw.numpy(), rtol=1e-12)
    assert jw.shape == (2, 3, 2)
    other = keras.Variable(1.0)
    assert tape.jacobian(y, other) is None


def test_numpy_ufuncs_and_operators_on_tensors_are_recorded():
    w = keras.Variable([1.0, -2.0])
    y_true = np.array([0.5, 0.5], dtype="float32")
    with keras.GradientTape() as tape:
        error = y_true - w  # ndarray - Variable
        loss = ops.sum(np.square(error))
    np.testing.assert_allclose(tape.gradient(loss, w), -2 * (y_true - np.array([1.0, -2.0])))


def test_watch_rejects_arrays():
    with keras.GradientTape() as tape:
        with pytest.raises(TypeError, match="convert_to_tensor"):
            tape.watch(np.ones(2))


def test_variable_assign_checks_shape_and_updates_in_place():
    v = keras.Variable(np.zeros((2, 3)))
    buffer = v.value
    v.assign(np.ones((2, 3)))
    assert v.value is buffer and v.numpy().sum() == 6
    v.assign_add(np.ones((2, 3)))
    v.assign_sub(0.5 * np.ones((2, 3)))
    np.testing.assert_array_equal(v.numpy(), 1.5)
    with pytest.raises(ValueError, match="shape"):
        v.assign(np.ones(3))
    assert v.dtype == "float64" and v.trainable  # an array keeps its dtype
    assert keras.Variable(1.0).dtype == "float32"  # Python numbers become floatx
