"""keras.layers' recurrent layers against PyTorch and Keras 3 (torch backend).

Outputs, final states and gradients (inputs, every weight, initial states) of SimpleRNN, LSTM
and GRU match torch.nn.RNN / LSTM / GRU (weights converted: transposed, GRU gates reordered
from Keras' z, r, h to torch's r, z, n; torch's GRU is Keras' reset_after=True) computed in
float64 from the same float32 values, within 1e-5 of the largest value compared. What torch
has no counterpart for (reset_after=False, masks, zero_output_for_mask, Bidirectional merge
modes, stacked and user-defined cells, TimeDistributed, Embedding, Masking, stateful
carry-over, dropout in training with the same masks) is compared with Keras 3 given
identical weights (set_weights), gradients through torch autograd on Keras' side. Dropout:
masks drawn once per call and reused at every step, the identity in inference. Configs
round-trip and carry Keras' keys; bad arguments raise Keras' errors.

The built-in layers have two paths: the fused whole-sequence op and the generic loop that
steps the cell's call (custom cells, StackedRNNCells, activations the kernels lack). The
comparisons marked with the ``rnn_path`` fixture run on both; the fused and generic paths
are also compared with each other in float64 (1e-10), and which one runs is checked.
"""

import numpy as np
import pytest

from turbolearn import keras
from turbolearn.keras import GradientTape, _nn, layers, ops
from turbolearn.keras.layers.rnn import rnn as rnn_module

TOL = 1e-5


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


@pytest.fixture(autouse=True)
def fresh():
    keras.backend.clear_session()
    keras.utils.set_random_seed(3)


def _generic_only(monkeypatch):
    """Makes the built-in layers run the generic loop (the cell's call at every step)."""
    monkeypatch.setattr(rnn_module, "_fused_cell", lambda cell: None)


@pytest.fixture(params=["fused", "generic"])
def rnn_path(request, monkeypatch):
    """Runs a test on each path of the built-in layers."""
    if request.param == "generic":
        _generic_only(monkeypatch)
    return request.param


def close(ours, ref, tol=TOL):
    """|ours - ref| <= tol * max(1, max|ref|) element-wise: float32 against a reference."""
    ours, ref = np.asarray(ours, dtype=np.float64), np.asarray(ref, dtype=np.float64)
    assert ours.shape == ref.shape
    scale = max(1.0, float(np.abs(ref).max(initial=0.0)))
    np.testing.assert_allclose(ours, ref, rtol=0, atol=tol * scale)


def randomize(layer, rng, scale=1.0):
    """Random weights, matrices scaled by 1/sqrt(rows): recurrences that stay contractive
    over 100 steps, as trained ones are (with chaotic weights float32 round-off grows without
    bound along the sequence, in any implementation)."""
    values = [(rng.standard_normal(w.shape) * scale /
               (np.sqrt(w.shape[0]) if len(w.shape) == 2 and w.name != "bias" else 2))
              .astype("float32") for w in layer.weights]
    layer.set_weights(values)
    return values


def _leaves(out):
    if isinstance(out, (list, tuple)):
        return [leaf for o in out for leaf in _leaves(o)]
    return [out]


def _ours(layer, x, initial_state=None, mask=None, training=None, seeds=None, rng=None):
    """Outputs and the gradients of sum(output_i * seed_i) with respect to x, the initial
    states and the trainable weights."""
    xs = ops.convert_to_tensor(x)
    states = None if initial_state is None else [ops.convert_to_tensor(s)
                                                 for s in initial_state]
    kwargs = {} if mask is None else {"mask": mask}
    if states is not None:
        kwargs["initial_state"] = states
    with GradientTape(persistent=True) as tape:
        tape.watch(xs)
        if states is not None:
            tape.watch(states)
        outs = _leaves(layer(xs, training=training, **kwargs))
        if seeds is None:
            seeds = [rng.standard_normal(o.shape).astype("float32") for o in outs]
        loss = None
        for o, s in zip(outs, seeds):
            term = ops.sum(ops.multiply(o, s))
            loss = term if loss is None else ops.add(loss, term)
    grads = tape.gradient(loss, [xs] + (states or []) + layer.trainable_weights)
    grads = [None if g is None else g.numpy() for g in grads]
    return [o.numpy() for o in outs], grads, seeds


def _keras_side(torch, layer, x, seeds, initial_state=None, mask=None, training=None):
    xs = torch.tensor(x, requires_grad=True)
    states = None if initial_state is None else [torch.tensor(s, requires_grad=True)
                                                 for s in initial_state]
    kwargs = {} if mask is None else {"mask": torch.tensor(mask)}
    if states is not None:
        kwargs["initial_state"] = states
    if training is not None:
        kwargs["training"] = training
    outs = _leaves(layer(xs, **kwargs))
    loss = sum((o * torch.tensor(s)).sum() for o, s in zip(outs, seeds))
    loss.backward()
    grads = [xs.grad] + [s.grad for s in (states or [])] + \
        [w.value.grad for w in layer.trainable_weights]
    return ([o.detach().numpy() for o in outs],
            [None if g is None else g.numpy() for g in grads])


def compare_with_keras(torch, ours, theirs, x, rng, initial_state=None, mask=None,
                       training=None, tol=TOL):
    """Builds both layers on x, gives Keras our (randomized) weights, compares outputs and
    gradients."""
    ours(x)
    theirs(x)
    assert [w.shape for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    theirs.set_weights(randomize(ours, rng))
    assert ours.count_params() == theirs.count_params()
    outs, grads, seeds = _ours(ours, x, initial_state, mask, training, rng=rng)
    k_outs, k_grads = _keras_side(torch, theirs, x, seeds, initial_state, mask, training)
    assert len(outs) == len(k_outs)
    for a, b in zip(outs, k_outs):
        close(a, b, tol)
    for a, b in zip(grads, k_grads):
        if b is None:
            assert a is None or not np.any(a)
        else:
            close(a, b, tol)
    return outs


# --- against torch.nn.RNN / LSTM / GRU ------------------------------------------------------

_TORCH = {"SimpleRNN": "RNN", "LSTM": "LSTM", "GRU": "GRU"}


def _to_torch(kind, a):
    """Gate blocks along axis 0 in torch's order (GRU: Keras z, r, h -> torch r, z, n)."""
    if kind != "GRU":
        return a
    z, r, h = np.split(a, 3, axis=0)
    return np.concatenate([r, z, h], axis=0)


def _from_torch(kind, a):
    if kind != "GRU":
        return a
    r, z, h = np.split(a, 3, axis=0)
    return np.concatenate([z, r, h], axis=0)


def torch_twin(torch, kind, weights, in_dim, units, use_bias=True, backward_weights=None):
    """A float64 torch module with our weights (and the reverse direction's)."""
    module = getattr(torch.nn, _TORCH[kind])(in_dim, units, batch_first=True, bias=use_bias,
                                              bidirectional=backward_weights is not None)
    module = module.double()
    directions = [("", weights)] + ([("_reverse", backward_weights)]
                                    if backward_weights is not None else [])
    with torch.no_grad():
        for suffix, w in directions:
            getattr(module, f"weight_ih_l0{suffix}").copy_(torch.tensor(_to_torch(kind, w[0].T)))
            getattr(module, f"weight_hh_l0{suffix}").copy_(torch.tensor(_to_torch(kind, w[1].T)))
            if use_bias:
                b = w[2]
                b_ih, b_hh = (b[0], b[1]) if b.ndim == 2 else (b, np.zeros_like(b))
                getattr(module, f"bias_ih_l0{suffix}").copy_(torch.tensor(_to_torch(kind, b_ih)))
                getattr(module, f"bias_hh_l0{suffix}").copy_(torch.tensor(_to_torch(kind, b_hh)))
    return module


def torch_weight_grads(kind, module, use_bias, suffix=""):
    """The module's parameter gradients in Keras' layout (kernel, recurrent_kernel, bias)."""
    get = lambda name: getattr(module, f"{name}_l0{suffix}").grad.numpy()  # noqa: E731
    grads = [_from_torch(kind, get("weight_ih")).T, _from_torch(kind, get("weight_hh")).T]
    if use_bias:
        b_ih, b_hh = _from_torch(kind, get("bias_ih")), _from_torch(kind, get("bias_hh"))
        grads.append(np.stack([b_ih, b_hh]) if kind == "GRU" else b_ih)
    return grads


def _torch_states(kind, states):
    import torch as t
    tensors = [t.tensor(s[None], dtype=t.float64, requires_grad=True) for s in states]
    return tensors, (tuple(tensors) if kind == "LSTM" else tensors[0])


SHAPES = [(1, 1, 1, 1), (3, 7, 5, 6), (2, 30, 4, 9), (64, 100, 3, 13), (5, 12, 2, 33)]


@pytest.mark.parametrize("kind", ["SimpleRNN", "LSTM", "GRU"])
@pytest.mark.parametrize("batch, steps, features, units", SHAPES)
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.usefixtures("rnn_path")
def test_matches_torch(torch, kind, batch, steps, features, units, go_backwards):
    rng = np.random.default_rng(batch * 1000 + steps)
    layer = getattr(layers, kind)(units, return_sequences=True, return_state=True,
                                  go_backwards=go_backwards)
    x = rng.standard_normal((batch, steps, features)).astype("float32")
    layer(x)
    weights = randomize(layer, rng)
    n_states = 2 if kind == "LSTM" else 1
    h0 = [(rng.standard_normal((batch, units)) * 0.5).astype("float32") for _ in range(n_states)]
    outs, grads, seeds = _ours(layer, x, initial_state=h0, rng=rng)

    module = torch_twin(torch, kind, weights, features, units)
    # Keras' go_backwards is torch on the time-reversed sequence, outputs in that order
    xt = torch.tensor(x[:, ::-1].copy() if go_backwards else x, dtype=torch.float64,
                      requires_grad=True)
    leaves, states = _torch_states(kind, h0)
    seq, final = module(xt, states)
    finals = list(final) if kind == "LSTM" else [final]
    ref = [seq] + [f[0] for f in finals]
    loss = sum((r * torch.tensor(s, dtype=torch.float64)).sum() for r, s in zip(ref, seeds))
    loss.backward()
    for a, b in zip(outs, ref):
        close(a, b.detach().numpy())
    gx = xt.grad.numpy()
    close(grads[0], gx[:, ::-1] if go_backwards else gx)
    for g, leaf in zip(grads[1:1 + n_states], leaves):
        close(g, leaf.grad.numpy()[0])
    for g, ref_g in zip(grads[1 + n_states:], torch_weight_grads(kind, module, True)):
        close(g, ref_g)


@pytest.mark.parametrize("kind", ["SimpleRNN", "LSTM", "GRU"])
@pytest.mark.usefixtures("rnn_path")
def test_matches_torch_without_bias_and_last_output(torch, kind):
    rng = np.random.default_rng(7)
    batch, steps, features, units = 4, 9, 3, 5
    layer = getattr(layers, kind)(units, use_bias=False)
    x = rng.standard_normal((batch, steps, features)).astype("float32")
    layer(x)
    assert len(layer.weights) == 2
    weights = randomize(layer, rng)
    outs, grads, seeds = _ours(layer, x, rng=rng)
    module = torch_twin(torch, kind, weights, features, units, use_bias=False)
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    last = module(xt)[0][:, -1]
    (last * torch.tensor(seeds[0], dtype=torch.float64)).sum().backward()
    close(outs[0], last.detach().numpy())
    close(grads[0], xt.grad.numpy())
    for g, ref_g in zip(grads[1:], torch_weight_grads(kind, module, False)):
        close(g, ref_g)


@pytest.mark.parametrize("kind", ["SimpleRNN", "LSTM", "GRU"])
@pytest.mark.usefixtures("rnn_path")
def test_bidirectional_matches_torch(torch, kind):
    rng = np.random.default_rng(11)
    batch, steps, features, units = 3, 8, 4, 7
    layer = layers.Bidirectional(getattr(layers, kind)(units, return_sequences=True))
    x = rng.standard_normal((batch, steps, features)).astype("float32")
    layer(x)
    weights = randomize(layer, rng)
    n = len(weights) // 2
    outs, grads, seeds = _ours(layer, x, rng=rng)
    module = torch_twin(torch, kind, weights[:n], features, units,
                        backward_weights=weights[n:])
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    seq = module(xt)[0]
    (seq * torch.tensor(seeds[0], dtype=torch.float64)).sum().backward()
    close(outs[0], seq.detach().numpy())
    close(grads[0], xt.grad.numpy())
    ref = torch_weight_grads(kind, module, True) + \
        torch_weight_grads(kind, module, True, "_reverse")
    for g, ref_g in zip(grads[1:], ref):
        close(g, ref_g)


# --- against Keras 3 ------------------------------------------------------------------------

@pytest.mark.parametrize("units, batch, steps", [(1, 1, 1), (6, 4, 9), (13, 16, 40)])
@pytest.mark.parametrize("kwargs", [{"reset_after": False},
                                    {"reset_after": False, "return_sequences": True,
                                     "go_backwards": True},
                                    {"reset_after": False, "use_bias": False,
                                     "return_state": True},
                                    {"activation": "relu", "recurrent_activation": "hard_sigmoid",
                                     "return_sequences": True}])
@pytest.mark.usefixtures("rnn_path")
def test_gru_variants_match_keras(torch, k3, units, batch, steps, kwargs):
    rng = np.random.default_rng(units + batch)
    x = rng.standard_normal((batch, steps, 3)).astype("float32")
    compare_with_keras(torch, layers.GRU(units, **kwargs), k3.layers.GRU(units, **kwargs), x,
                       rng)


def _mask(rng, batch, steps, kind):
    if kind == "right_padded":
        lengths = rng.integers(1, steps + 1, batch)
        return np.arange(steps)[None] < lengths[:, None]
    mask = rng.random((batch, steps)) < 0.7
    mask[0] = False  # a fully masked sequence
    return mask


@pytest.mark.parametrize("kind", ["SimpleRNN", "LSTM", "GRU"])
@pytest.mark.parametrize("mask_kind", ["right_padded", "scattered"])
@pytest.mark.parametrize("kwargs", [{"return_sequences": True, "return_state": True},
                                    {"go_backwards": True, "return_state": True},
                                    {"return_sequences": True, "zero_output_for_mask": True},
                                    {"go_backwards": True, "return_sequences": True,
                                     "zero_output_for_mask": True}])
@pytest.mark.usefixtures("rnn_path")
def test_masks_match_keras(torch, k3, kind, mask_kind, kwargs):
    rng = np.random.default_rng(5)
    batch, steps, units = 6, 11, 5
    x = rng.standard_normal((batch, steps, 3)).astype("float32")
    mask = _mask(rng, batch, steps, mask_kind)
    compare_with_keras(torch, getattr(layers, kind)(units, **kwargs),
                       getattr(k3.layers, kind)(units, **kwargs), x, rng, mask=mask)


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
@pytest.mark.usefixtures("rnn_path")
def test_initial_state_and_mask_match_keras(torch, k3, kind):
    rng = np.random.default_rng(8)
    batch, steps, units = 4, 6, 3
    x = rng.standard_normal((batch, steps, 2)).astype("float32")
    h0 = [rng.standard_normal((batch, units)).astype("float32")
          for _ in range(2 if kind == "LSTM" else 1)]
    compare_with_keras(torch, getattr(layers, kind)(units, return_sequences=True),
                       getattr(k3.layers, kind)(units, return_sequences=True), x, rng,
                       initial_state=h0, mask=_mask(rng, batch, steps, "scattered"))


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
@pytest.mark.parametrize("return_sequences", [True, False])
@pytest.mark.parametrize("masked", [False, True])
def test_bidirectional_merge_modes_match_keras(torch, k3, merge_mode, return_sequences,
                                               masked):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((5, 7, 3)).astype("float32")
    mask = _mask(rng, 5, 7, "right_padded") if masked else None
    outs = compare_with_keras(
        torch, layers.Bidirectional(layers.LSTM(4, return_sequences=return_sequences),
                                    merge_mode=merge_mode),
        k3.layers.Bidirectional(k3.layers.LSTM(4, return_sequences=return_sequences),
                                merge_mode=merge_mode), x, rng, mask=mask)
    assert len(outs) == (2 if merge_mode is None else 1)


@pytest.mark.usefixtures("rnn_path")
def test_bidirectional_states_backward_layer_and_names(torch, k3):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, 5, 2)).astype("float32")
    h0 = [rng.standard_normal((3, 4)).astype("float32") for _ in range(4)]

    def make(lib):
        return lib.layers.Bidirectional(
            lib.layers.LSTM(4, return_sequences=True, return_state=True),
            backward_layer=lib.layers.LSTM(4, return_sequences=True, return_state=True,
                                           go_backwards=True, activation="relu"))
    ours = make(keras)
    outs = compare_with_keras(torch, ours, make(k3), x, rng, initial_state=h0)
    assert [o.shape for o in outs] == [(3, 5, 8)] + [(3, 4)] * 4
    assert ours.forward_layer.name == "forward_lstm"
    with pytest.raises(ValueError, match="go_backwards"):
        layers.Bidirectional(layers.GRU(2), backward_layer=layers.GRU(2))
    with pytest.raises(ValueError, match="merge mode"):
        layers.Bidirectional(layers.GRU(2), merge_mode="max")
    with pytest.raises(ValueError, match="Layer"):
        layers.Bidirectional("gru")


def test_bidirectional_stack_matches_keras(torch, k3):
    rng = np.random.default_rng(9)
    x = rng.standard_normal((4, 6, 3)).astype("float32")

    def make(lib):
        return lib.Sequential([lib.Input((6, 3)),
                               lib.layers.Bidirectional(lib.layers.GRU(5, return_sequences=True)),
                               lib.layers.Bidirectional(lib.layers.LSTM(3)),
                               lib.layers.Dense(1)])
    compare_with_keras(torch, make(keras), make(k3), x, rng)


# --- cells, RNN, stacking ------------------------------------------------------------------

@keras.saving.register_keras_serializable(package="rnn_tests")
class LNSimpleRNNCell(keras.layers.Layer):
    """The book's layer-normalized cell (chapter 15), in turbolearn.keras."""

    def __init__(self, units, activation="tanh", **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = units
        self.output_size = units
        self.simple_rnn_cell = keras.layers.SimpleRNNCell(units, activation=None)
        self.layer_norm = keras.layers.LayerNormalization()
        self.activation = keras.activations.get(activation)

    def call(self, inputs, states):
        outputs, new_states = self.simple_rnn_cell(inputs, states)
        norm_outputs = self.activation(self.layer_norm(outputs))
        return norm_outputs, [norm_outputs]

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def _keras_ln_cell(k3):
    class KerasLNSimpleRNNCell(k3.layers.Layer):
        def __init__(self, units, activation="tanh", **kwargs):
            super().__init__(**kwargs)
            self.state_size = units
            self.output_size = units
            self.simple_rnn_cell = k3.layers.SimpleRNNCell(units, activation=None)
            self.layer_norm = k3.layers.LayerNormalization()
            self.activation = k3.activations.get(activation)

        def call(self, inputs, states):
            outputs, new_states = self.simple_rnn_cell(inputs, states)
            norm_outputs = self.activation(self.layer_norm(outputs))
            return norm_outputs, [norm_outputs]
    return KerasLNSimpleRNNCell


def test_user_cell_matches_keras(torch, k3):
    rng = np.random.default_rng(12)
    x = rng.standard_normal((3, 8, 2)).astype("float32")
    mask = _mask(rng, 3, 8, "scattered")
    compare_with_keras(torch, layers.RNN(LNSimpleRNNCell(6), return_sequences=True),
                       k3.layers.RNN(_keras_ln_cell(k3)(6), return_sequences=True), x, rng,
                       mask=mask)


class MinimalCell:
    """A cell that is not a Layer: plain numpy weights, keras.ops on the step."""

    def __init__(self, units, in_dim, rng):
        self.state_size = units
        self.kernel = keras.Variable(rng.standard_normal((in_dim, units)).astype("float32"))

    def call(self, inputs, states):
        h = ops.tanh(ops.add(ops.matmul(inputs, self.kernel), states[0]))
        return h, [h]


def test_plain_object_cell_trains_its_variables():
    rng = np.random.default_rng(0)
    cell = MinimalCell(3, 2, rng)
    layer = layers.RNN(cell)
    x = rng.standard_normal((4, 5, 2)).astype("float32")
    with GradientTape() as tape:
        tape.watch(cell.kernel)
        loss = ops.sum(layer(x))
    g = tape.gradient(loss, cell.kernel).numpy()
    eps = 1e-3  # central differences in float64 on the same step
    kernel = cell.kernel.numpy().astype(np.float64)

    def f(k):
        h = np.zeros((4, 3))
        for t in range(5):
            h = np.tanh(x[:, t] @ k + h)
        return h.sum()
    numeric = np.zeros_like(kernel)
    for i in np.ndindex(kernel.shape):
        d = np.zeros_like(kernel)
        d[i] = eps
        numeric[i] = (f(kernel + d) - f(kernel - d)) / (2 * eps)
    np.testing.assert_allclose(g, numeric, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("cells", [["LSTMCell", "GRUCell"], ["SimpleRNNCell"],
                                   ["GRUCell", "SimpleRNNCell", "LSTMCell"]])
def test_stacked_cells_match_keras(torch, k3, cells):
    rng = np.random.default_rng(len(cells))
    x = rng.standard_normal((3, 6, 4)).astype("float32")
    sizes = [5, 3, 4]
    ours = layers.RNN([getattr(layers, c)(s) for c, s in zip(cells, sizes)],
                      return_sequences=True, return_state=True)
    theirs = k3.layers.RNN([getattr(k3.layers, c)(s) for c, s in zip(cells, sizes)],
                           return_sequences=True, return_state=True)
    compare_with_keras(torch, ours, theirs, x, rng, mask=_mask(rng, 3, 6, "scattered"))


@pytest.mark.parametrize("cell", ["SimpleRNNCell", "LSTMCell", "GRUCell"])
def test_rnn_of_builtin_cell_equals_layer(cell):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 5, 3)).astype("float32")
    generic = layers.RNN(getattr(layers, cell)(4), return_sequences=True)
    layer = getattr(layers, cell[:-4])(4, return_sequences=True)
    generic(x)
    layer(x)
    layer.set_weights(randomize(generic, rng))
    np.testing.assert_allclose(generic(x).numpy(), layer(x).numpy(), atol=1e-6)
    # the cell alone, stepped by hand, gives the same outputs
    c = generic.cell
    states = c.get_initial_state(batch_size=2)
    for t in range(5):
        out, states = c(x[:, t], states)
        np.testing.assert_allclose(out.numpy(), layer(x).numpy()[:, t], atol=1e-6)


class ScaledGRUCell(keras.layers.GRUCell):
    """A subclass changing the step: its call must be the one that runs."""

    def call(self, inputs, states, training=False):
        output, new_states = super().call(inputs, states, training)
        return ops.multiply(output, 0.5), [ops.multiply(s, 0.5) for s in new_states]


def test_subclassed_builtin_cell_runs_its_own_call():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 4, 3)).astype("float32")
    layer = layers.RNN(ScaledGRUCell(3))
    layer(x)
    randomize(layer, rng)
    h = np.zeros((2, 3), "float32")
    for t in range(4):
        out, _ = layer.cell(x[:, t], [h])
        h = out.numpy()
    close(layer(x).numpy(), h)


# --- TimeDistributed, Embedding, Masking ---------------------------------------------------

def test_time_distributed_matches_keras(torch, k3):
    rng = np.random.default_rng(6)
    x = rng.standard_normal((4, 7, 3)).astype("float32")
    ours = layers.TimeDistributed(layers.Dense(5, activation="relu"))
    theirs = k3.layers.TimeDistributed(k3.layers.Dense(5, activation="relu"))
    outs = compare_with_keras(torch, ours, theirs, x, rng)
    assert outs[0].shape == (4, 7, 5)
    assert ours.compute_output_shape((None, None, 3)) == (None, None, 5)
    with pytest.raises(ValueError, match="at least 3 dimensions"):
        layers.TimeDistributed(layers.Dense(2)).build((4, 3))


def test_embedding_matches_keras(torch, k3):
    rng = np.random.default_rng(10)
    idx = rng.integers(0, 9, (5, 12))
    ours, theirs = layers.Embedding(9, 4), k3.layers.Embedding(9, 4)
    ours(idx)
    theirs(idx)
    theirs.set_weights(randomize(ours, rng))
    seed = rng.standard_normal((5, 12, 4)).astype("float32")
    with GradientTape() as tape:
        loss = ops.sum(ops.multiply(ours(idx), seed))
    g = tape.gradient(loss, ours.embeddings).numpy()
    out = theirs(torch.tensor(idx))
    (out * torch.tensor(seed)).sum().backward()
    close(ours(idx).numpy(), out.detach().numpy())
    close(g, theirs.embeddings.value.grad.numpy())  # duplicate indices summed
    assert [w.name for w in ours.weights] == ["embeddings"]
    assert ours(idx.astype("float32")).shape == (5, 12, 4)
    with pytest.raises(ValueError, match="indices"):
        ours(np.array([[9]]))
    with pytest.raises(ValueError, match="input_dim"):
        layers.Embedding(0, 3)


def _embedding_gru(lib):
    return lib.Sequential([lib.Input((None,), dtype="int32"),
                           lib.layers.Embedding(20, 6, mask_zero=True),
                           lib.layers.GRU(5, return_sequences=True),
                           lib.layers.GRU(4),
                           lib.layers.Dense(1, activation="sigmoid")])


def _padded_ids(rng, batch, steps, vocab=20):
    ids = rng.integers(1, vocab, (batch, steps))
    lengths = rng.integers(1, steps + 1, batch)
    ids[np.arange(steps)[None] >= lengths[:, None]] = 0
    return ids


def test_embedding_mask_zero_reaches_the_rnn(k3):
    rng = np.random.default_rng(13)
    ids = _padded_ids(rng, 6, 9)
    ours, theirs = _embedding_gru(keras), _embedding_gru(k3)
    theirs.set_weights(randomize(ours, rng))
    close(ours(ids).numpy(), k3.ops.convert_to_numpy(theirs(ids)))
    emb = ours.layers[0](ids)
    np.testing.assert_array_equal(emb._keras_mask, ids != 0)
    # the last output ignores padding: extending the padding changes nothing
    longer = np.concatenate([ids, np.zeros((6, 4), dtype=ids.dtype)], axis=1)
    close(ours(longer).numpy(), ours(ids).numpy())


def test_masking_layer_matches_keras(torch, k3):
    rng = np.random.default_rng(14)
    x = rng.standard_normal((5, 8, 3)).astype("float32")
    x[rng.random((5, 8)) < 0.3] = 0.0

    def make(lib):
        return lib.Sequential([lib.Input((8, 3)), lib.layers.Masking(mask_value=0.0),
                               lib.layers.LSTM(4, return_sequences=True),
                               lib.layers.TimeDistributed(lib.layers.Dense(2))])
    ours = make(keras)
    compare_with_keras(torch, ours, make(k3), x, rng)
    out = ours(x)
    np.testing.assert_array_equal(out._keras_mask, np.any(x != 0, axis=-1))


def test_masked_steps_do_not_count_in_losses_and_metrics(k3):
    rng = np.random.default_rng(15)
    ids = _padded_ids(rng, 16, 7)
    y = rng.random((16, 7, 1)).astype("float32")

    def make(lib):
        model = lib.Sequential([lib.Input((7,), dtype="int32"),
                                lib.layers.Embedding(20, 4, mask_zero=True),
                                lib.layers.LSTM(3, return_sequences=True),
                                lib.layers.TimeDistributed(lib.layers.Dense(1))])
        model.compile(loss="mse", metrics=["mae"])
        return model
    ours, theirs = make(keras), make(k3)
    theirs.set_weights(randomize(ours, rng))
    got = ours.evaluate(ids, y, batch_size=16, verbose=0, return_dict=True)
    want = theirs.evaluate(ids, y, batch_size=16, verbose=0, return_dict=True)
    for key in ("loss", "mae"):
        np.testing.assert_allclose(got[key], want[key], rtol=1e-5)
    # by hand: the mean over unmasked steps only
    pred = ours.predict(ids, verbose=0)
    keep = ids != 0
    np.testing.assert_allclose(got["mae"], np.abs(pred - y)[keep].mean(), rtol=1e-5)


def test_layer_without_masking_warns_and_drops_the_mask():
    ids = np.array([[3, 4, 0, 0]])
    emb = layers.Embedding(5, 2, mask_zero=True)
    with pytest.warns(UserWarning, match="does not support masking"):
        out = layers.Flatten()(emb(ids))
    assert out._keras_mask is None


# --- stateful, dropout ---------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["SimpleRNN", "LSTM", "GRU"])
@pytest.mark.usefixtures("rnn_path")
def test_stateful_carries_states_like_keras(k3, kind):
    rng = np.random.default_rng(16)
    batch, units = 3, 4
    ours = getattr(layers, kind)(units, stateful=True, return_sequences=True)
    theirs = getattr(k3.layers, kind)(units, stateful=True, return_sequences=True)
    chunks = [rng.standard_normal((batch, 5, 2)).astype("float32") for _ in range(3)]
    ours(chunks[0][:, :1])
    theirs(chunks[0][:, :1])
    ours.reset_states()
    theirs.reset_states()
    theirs.set_weights(randomize(ours, rng))
    assert len(ours.weights) == len(theirs.weights) == 3  # the states are not weights
    for chunk in chunks:
        close(ours(chunk).numpy(), k3.ops.convert_to_numpy(theirs(chunk)))
    whole = getattr(layers, kind)(units, return_sequences=True)
    whole(chunks[0])
    whole.set_weights(ours.get_weights())
    ours.reset_states()
    carried = np.concatenate([ours(c).numpy() for c in chunks], axis=1)
    close(carried, whole(np.concatenate(chunks, axis=1)).numpy())
    ours.reset_states()
    assert all(not np.any(s.numpy()) for s in ours.states)
    with pytest.raises(ValueError, match="batch size"):
        ours(chunks[0][:2])
    with pytest.raises(ValueError, match="static"):
        getattr(layers, kind)(2, stateful=True).build((None, 5, 2))


def test_stateful_gradients_do_not_flow_into_the_previous_batch():
    rng = np.random.default_rng(17)
    layer = layers.LSTM(3, stateful=True)
    x = rng.standard_normal((2, 4, 2)).astype("float32")
    layer(x)
    first = layer.states[0].numpy().copy()
    with GradientTape() as tape:
        loss = ops.sum(layer(x))
    grads = tape.gradient(loss, layer.trainable_weights)
    assert all(g is not None for g in grads)
    assert not np.allclose(layer.states[0].numpy(), first)  # updated after the call


def test_stateful_in_a_sequential_with_batch_input_shape():
    model = keras.Sequential([
        layers.GRU(6, return_sequences=True, stateful=True, batch_input_shape=[4, None, 3]),
        layers.GRU(6, return_sequences=True, stateful=True),
        layers.TimeDistributed(layers.Dense(3, activation="softmax"))])
    x = np.random.default_rng(0).standard_normal((4, 10, 3)).astype("float32")
    assert model.output_shape == (4, None, 3)
    first = model.predict(x, batch_size=4, verbose=0)
    second = model.predict(x, batch_size=4, verbose=0)
    assert not np.allclose(first, second)  # carried over between calls
    for layer in model.layers[:2]:
        layer.reset_states()
    np.testing.assert_allclose(model.predict(x, batch_size=4, verbose=0), first, atol=1e-6)


def _probe(kind, units, **kwargs):
    """A layer whose outputs expose its dropout masks: linear activations, identity input
    kernel (dropout) or identity recurrent kernel started from ones (recurrent dropout)."""
    layer = getattr(layers, kind)(units, activation=None, use_bias=False, **kwargs)
    layer(np.zeros((2, 3, units), dtype="float32"))
    return layer


@pytest.mark.usefixtures("rnn_path")
def test_dropout_mask_is_drawn_once_per_call_and_reused_at_every_step():
    units, batch, steps = 50, 8, 6
    layer = _probe("SimpleRNN", units, dropout=0.4, return_sequences=True)
    layer.set_weights([np.eye(units, dtype="float32"), np.zeros((units, units), "float32")])
    x = np.ones((batch, steps, units), dtype="float32")
    out = layer(x, training=True).numpy()
    for t in range(1, steps):
        np.testing.assert_array_equal(out[:, t], out[:, 0])  # the same mask at every step
    assert np.all(np.isclose(out, 0) | np.isclose(out, 1 / 0.6))
    assert 0.3 < np.mean(out == 0) < 0.5
    assert not np.array_equal(layer(x, training=True).numpy(), out)  # a new mask per call
    np.testing.assert_array_equal(layer(x).numpy(), x)  # inference: no dropout
    np.testing.assert_array_equal(layer(x, training=False).numpy(), x)


@pytest.mark.usefixtures("rnn_path")
def test_recurrent_dropout_mask_is_reused_at_every_step():
    units, batch, steps = 40, 6, 5
    layer = _probe("SimpleRNN", units, recurrent_dropout=0.5, return_sequences=True)
    layer.set_weights([np.zeros((units, units), "float32"), np.eye(units, dtype="float32")])
    x = np.zeros((batch, steps, units), dtype="float32")
    h0 = np.ones((batch, units), dtype="float32")
    out = layer(x, initial_state=[h0], training=True).numpy()
    # h_t = h_{t-1} * m with one mask m: the same units are zero at every step
    for t in range(steps):
        np.testing.assert_allclose(out[:, t], (out[:, 0] > 0) * 2.0 ** (t + 1), rtol=1e-6)


@pytest.mark.parametrize("kind, gates", [("LSTM", 4), ("GRU", 3)])
@pytest.mark.usefixtures("rnn_path")
def test_lstm_gru_dropout_masks(kind, gates):
    rng = np.random.default_rng(18)
    x = rng.standard_normal((4, 6, 3)).astype("float32")
    plain = getattr(layers, kind)(5, return_sequences=True)
    plain(x)
    randomize(plain, rng)
    # implementation 2: one input mask; recurrent dropout switches to one mask per gate
    for kwargs, count in (({"dropout": 0.3}, None),
                          ({"dropout": 0.3, "recurrent_dropout": 0.2}, gates)):
        layer = getattr(layers, kind)(5, return_sequences=True, seed=4, **kwargs)
        layer(x)
        layer.set_weights(plain.get_weights())
        assert getattr(layer.cell, "dropout_mask_count", None) == count
        assert layer.cell.implementation == (2 if count is None else 1)
        close(layer(x).numpy(), plain(x).numpy())  # inference: dropout off
        dropped = layer(x, training=True).numpy()
        assert not np.allclose(dropped, plain(x).numpy())
        again = getattr(layers, kind)(5, return_sequences=True, seed=4, **kwargs)
        again(x)
        again.set_weights(layer.get_weights())
        np.testing.assert_array_equal(again(x, training=True).numpy(), dropped)  # seeded
        assert layer.cell._dropout_mask is None  # reset after the call


@pytest.mark.parametrize("kind", ["SimpleRNN", "LSTM", "GRU"])
@pytest.mark.usefixtures("rnn_path")
def test_dropout_in_inference_matches_keras(torch, k3, kind):
    rng = np.random.default_rng(20)
    x = rng.standard_normal((3, 6, 2)).astype("float32")
    kwargs = {"units": 4, "dropout": 0.5, "recurrent_dropout": 0.3, "return_sequences": True}
    compare_with_keras(torch, getattr(layers, kind)(**kwargs),
                       getattr(k3.layers, kind)(**kwargs), x, rng, training=False)


@pytest.mark.usefixtures("rnn_path")
def test_dropout_gradients_match_finite_differences():
    """With the masks replayed (the cell's generator reseeded before each call), the input
    gradient through dropout and recurrent dropout matches central differences."""
    rng = np.random.default_rng(19)
    layer = layers.GRU(3, dropout=0.3, recurrent_dropout=0.3, reset_after=False)
    x = rng.standard_normal((2, 4, 2)).astype("float32")
    layer(x)
    randomize(layer, rng)

    def run(v):
        layer.cell._rng = np.random.default_rng(2)
        return layer(v, training=True)
    xs = ops.convert_to_tensor(x)
    with GradientTape() as tape:
        tape.watch(xs)
        loss = ops.sum(run(xs))
    g = tape.gradient(loss, xs).numpy()
    eps = 1e-2
    for i in [(0, 0, 0), (1, 3, 1), (0, 2, 1)]:
        d = np.zeros_like(x)
        d[i] = eps
        numeric = (float(ops.sum(run(x + d))) - float(ops.sum(run(x - d)))) / (2 * eps)
        np.testing.assert_allclose(g[i], numeric, rtol=2e-2, atol=2e-3)


def _fixed_masks(cell, rng, batch, features):
    """Dropout masks in the form the cell caches them (a list per gate in implementation 1):
    (input mask, recurrent mask), None where the rate is zero."""
    count = getattr(cell, "dropout_mask_count", None)

    def draw(rate, width):
        if not rate:
            return None
        masks = [((rng.random((batch, width)) >= rate) / (1 - rate)).astype("float32")
                 for _ in range(count or 1)]
        return masks if count else masks[0]
    return draw(cell.dropout, features), draw(cell.recurrent_dropout, cell.units)


def _as_torch(torch, masks):
    if masks is None:
        return None
    return [torch.tensor(m) for m in masks] if isinstance(masks, list) else torch.tensor(masks)


DROPOUT_CASES = [
    ("SimpleRNN", {"dropout": 0.3}), ("SimpleRNN", {"recurrent_dropout": 0.4}),
    ("SimpleRNN", {"dropout": 0.3, "recurrent_dropout": 0.4, "go_backwards": True}),
    ("LSTM", {"dropout": 0.3}), ("LSTM", {"dropout": 0.3, "recurrent_dropout": 0.4}),
    # (Keras' use_cudnn="auto" path fails on implementation 1 without recurrent dropout)
    ("LSTM", {"dropout": 0.3, "implementation": 1, "use_cudnn": False}),
    ("GRU", {"dropout": 0.3}), ("GRU", {"dropout": 0.3, "recurrent_dropout": 0.4}),
    ("GRU", {"dropout": 0.3, "recurrent_dropout": 0.4, "reset_after": False}),
    ("GRU", {"recurrent_dropout": 0.4, "reset_after": False, "go_backwards": True}),
]


@pytest.mark.usefixtures("rnn_path")
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("kind, kwargs", DROPOUT_CASES)
def test_dropout_in_training_matches_keras(torch, k3, kind, kwargs, masked):
    """The same masks in both libraries' caches: outputs, states and gradients in training
    equal Keras' (one input mask for all gates, or one per gate in implementation 1, and
    per-gate recurrent masks)."""
    rng = np.random.default_rng(22)
    batch, steps, features, units = 4, 7, 3, 5
    x = rng.standard_normal((batch, steps, features)).astype("float32")
    mask = _mask(rng, batch, steps, "scattered") if masked else None
    common = {"return_sequences": True, "return_state": True, **kwargs}
    ours, theirs = getattr(layers, kind)(units, **common), getattr(k3.layers, kind)(units, **common)
    ours(x)
    theirs(x)
    theirs.set_weights(randomize(ours, rng))
    masks = _fixed_masks(ours.cell, rng, batch, features)
    ours.cell._dropout_mask, ours.cell._recurrent_dropout_mask = masks
    outs, grads, seeds = _ours(ours, x, mask=mask, training=True, rng=rng)
    assert ours.cell._dropout_mask is None  # the layer resets its cell's masks after a call
    theirs.cell._dropout_mask, theirs.cell._recurrent_dropout_mask = (_as_torch(torch, m)
                                                                      for m in masks)
    k_outs, k_grads = _keras_side(torch, theirs, x, seeds, mask=mask, training=True)
    for a, b in zip(outs, k_outs, strict=True):
        close(a, b)
    for a, b in zip(grads, k_grads, strict=True):
        close(a, b)
    assert not np.allclose(outs[0], ours(x, mask=mask)[0].numpy())  # the masks did apply


# --- the fused and the generic path ---------------------------------------------------------

def _cells(layer):
    subs = [layer.forward_layer, layer.backward_layer] if hasattr(layer, "forward_layer") \
        else [layer]
    return [sub.cell for sub in subs]


def _run_on_both_paths(monkeypatch, layer, calls, seed=0):
    """``calls(layer)`` (a list of results) on the fused path, then on the generic path with
    every cell's dropout generator reseeded to ``seed`` before each path."""
    results = []
    for generic in (False, True):
        for cell in _cells(layer):
            cell._rng = np.random.default_rng(seed)
        with monkeypatch.context() as m:
            if generic:
                _generic_only(m)
            results.append(calls(layer))
    return results


def _assert_same(fused, generic, tol=1e-10):
    assert len(fused) == len(generic)
    for a, b in zip(fused, generic):
        if b is None:
            assert a is None
        else:
            close(a, b, tol)


PATH_CASES = {
    "mask_states": ({"return_sequences": True, "return_state": True}, True, True, False),
    "last_output": ({}, False, False, False),
    "backwards_zero_output": ({"go_backwards": True, "return_sequences": True,
                               "zero_output_for_mask": True}, True, False, False),
    "backwards_last_state": ({"go_backwards": True, "return_state": True}, True, True, False),
    "dropout": ({"dropout": 0.3, "return_sequences": True}, True, False, True),
    "both_dropouts": ({"dropout": 0.3, "recurrent_dropout": 0.4, "return_state": True},
                      True, True, True),
    "activations": ({"activation": "relu", "return_sequences": True}, True, False, False),
}
PATH_KINDS = [("SimpleRNN", {}), ("LSTM", {}), ("GRU", {}), ("GRU", {"reset_after": False}),
              ("LSTM", {"use_bias": False})]


@pytest.mark.parametrize("case", list(PATH_CASES))
@pytest.mark.parametrize("kind, extra", PATH_KINDS,
                         ids=["SimpleRNN", "LSTM", "GRU", "GRU-reset_before", "LSTM-no_bias"])
def test_fused_and_generic_paths_agree(monkeypatch, kind, extra, case):
    """In float64, on the same weights (and, in training, the same seeded dropout masks):
    outputs, final states and the gradients of the inputs, the initial states and every
    weight agree to 1e-10."""
    kwargs, masked, with_state, training = PATH_CASES[case]
    rng = np.random.default_rng(23)
    batch, steps, features, units = 5, 8, 3, 6
    layer = getattr(layers, kind)(units, dtype="float64", seed=1, **kwargs, **extra)
    x = rng.standard_normal((batch, steps, features))
    layer(x)
    randomize(layer, rng)
    mask = _mask(rng, batch, steps, "scattered") if masked else None
    h0 = None
    if with_state:
        h0 = [rng.standard_normal((batch, units)) for _ in range(2 if kind == "LSTM" else 1)]
    seeds = None

    def calls(layer):
        nonlocal seeds
        outs, grads, seeds = _ours(layer, x, initial_state=h0, mask=mask, training=training,
                                   seeds=seeds, rng=rng)
        return outs + grads
    fused, generic = _run_on_both_paths(monkeypatch, layer, calls)
    _assert_same(fused, generic)


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_fused_and_generic_paths_agree_bidirectional(monkeypatch, kind):
    rng = np.random.default_rng(24)
    batch, steps, features, units = 4, 7, 3, 5
    layer = layers.Bidirectional(
        getattr(layers, kind)(units, return_sequences=True, return_state=True, dropout=0.2,
                              recurrent_dropout=0.3, dtype="float64", seed=2),
        merge_mode="concat", dtype="float64")
    x = rng.standard_normal((batch, steps, features))
    layer(x)
    randomize(layer, rng)
    mask = _mask(rng, batch, steps, "right_padded")
    h0 = [rng.standard_normal((batch, units)) for _ in range(4 if kind == "LSTM" else 2)]
    seeds = {}

    def calls(layer):
        results = []
        for training in (False, True):
            outs, grads, seeds[training] = _ours(layer, x, initial_state=h0, mask=mask,
                                                 training=training, seeds=seeds.get(training),
                                                 rng=rng)
            results += outs + grads
        return results
    fused, generic = _run_on_both_paths(monkeypatch, layer, calls)
    _assert_same(fused, generic)


@pytest.mark.parametrize("kind", ["SimpleRNN", "LSTM", "GRU"])
def test_fused_and_generic_paths_agree_stateful(monkeypatch, kind):
    """Three batches carried over, outputs, gradients and the states after each."""
    rng = np.random.default_rng(25)
    batch, features, units = 3, 2, 4
    layer = getattr(layers, kind)(units, stateful=True, return_sequences=True,
                                  dropout=0.2, dtype="float64", seed=3)
    chunks = [rng.standard_normal((batch, 5, features)) for _ in range(3)]
    layer(chunks[0])
    randomize(layer, rng)
    seeds = {}

    def calls(layer):
        layer.reset_states()
        results = []
        for i, chunk in enumerate(chunks):
            outs, grads, seeds[i] = _ours(layer, chunk, training=i == 1, seeds=seeds.get(i),
                                          rng=rng)
            results += outs + grads + [s.numpy().copy() for s in layer.states]
        return results
    fused, generic = _run_on_both_paths(monkeypatch, layer, calls)
    _assert_same(fused, generic)


@pytest.fixture
def fused_calls(monkeypatch):
    """The cells keras._nn.rnn_sequence is called with, in order."""
    calls = []
    real = _nn.rnn_sequence

    def spy(cell, *args, **kwargs):
        calls.append(cell)
        return real(cell, *args, **kwargs)
    monkeypatch.setattr(_nn, "rnn_sequence", spy)
    return calls


@pytest.mark.parametrize("make, expected", [
    (lambda: layers.SimpleRNN(3, activation=None), ["simple_rnn"]),
    (lambda: layers.LSTM(3, activation="relu", recurrent_activation="hard_sigmoid"), ["lstm"]),
    (lambda: layers.GRU(3, reset_after=False, dtype="float64"), ["gru"]),
    (lambda: layers.RNN(layers.LSTMCell(3)), ["lstm"]),
    (lambda: layers.Bidirectional(layers.GRU(3)), ["gru", "gru"]),
    (lambda: layers.LSTM(3, activation="gelu"), []),
    (lambda: layers.GRU(3, recurrent_activation="softsign"), []),
    (lambda: layers.SimpleRNN(3, activation=lambda z: ops.tanh(z)), []),
    (lambda: layers.RNN(ScaledGRUCell(3)), []),
    (lambda: layers.RNN([layers.LSTMCell(2), layers.GRUCell(3)]), []),
], ids=["simple_rnn", "lstm", "gru_float64", "rnn_of_cell", "bidirectional", "gelu",
        "softsign", "lambda", "subclass", "stacked"])
def test_which_path_runs(fused_calls, make, expected):
    x = np.random.default_rng(0).standard_normal((2, 4, 3)).astype("float32")
    layer = make()
    layer(x)
    fused_calls.clear()
    with GradientTape() as tape:
        loss = ops.sum(layer(x, training=True))
    assert all(g is not None for g in tape.gradient(loss, layer.trainable_weights))
    assert fused_calls == expected


@pytest.mark.parametrize("kind, kwargs", [("LSTM", {"activation": "gelu"}),
                                          ("GRU", {"recurrent_activation": "softsign",
                                                   "reset_after": False}),
                                          ("SimpleRNN", {"activation": "selu"})])
def test_unsupported_activations_match_keras(torch, k3, kind, kwargs):
    """Activations the kernels do not fuse run the generic loop, still exactly Keras'."""
    rng = np.random.default_rng(26)
    x = rng.standard_normal((4, 6, 3)).astype("float32")
    mask = _mask(rng, 4, 6, "scattered")
    common = {"return_sequences": True, "return_state": True, **kwargs}
    compare_with_keras(torch, getattr(layers, kind)(5, **common),
                       getattr(k3.layers, kind)(5, **common), x, rng, mask=mask)


# --- shapes, configs, errors ---------------------------------------------------------------

def test_variable_length_time_and_symbolic_shapes(k3):
    for lib in (keras, k3):
        inputs = lib.Input((None, 3))
        seq, h, c = lib.layers.LSTM(4, return_sequences=True, return_state=True)(inputs)
        assert tuple(seq.shape) == (None, None, 4) and tuple(h.shape) == (None, 4)
    model = keras.Sequential([layers.SimpleRNN(5, return_sequences=True, input_shape=[None, 2]),
                              layers.SimpleRNN(5)])
    for steps in (1, 7, 23):
        assert model(np.zeros((3, steps, 2), "float32")).shape == (3, 5)
    with pytest.raises(ValueError, match="unroll"):
        keras.Sequential([keras.Input((None, 2)), layers.LSTM(3, unroll=True)])
    unrolled = layers.LSTM(3, unroll=True)
    assert unrolled(np.zeros((2, 4, 2), "float32")).shape == (2, 3)


CONFIG_CASES = [
    ("SimpleRNN", {"units": 4, "activation": "relu", "dropout": 0.1, "seed": 3}),
    ("LSTM", {"units": 5, "return_sequences": True, "unit_forget_bias": False,
              "kernel_regularizer": "l2", "recurrent_constraint": "non_neg"}),
    ("GRU", {"units": 3, "reset_after": False, "go_backwards": True, "stateful": True,
             "recurrent_dropout": 0.2}),
    ("SimpleRNNCell", {"units": 3}),
    ("LSTMCell", {"units": 3, "recurrent_activation": "hard_sigmoid"}),
    ("GRUCell", {"units": 3, "reset_after": False}),
    ("Embedding", {"input_dim": 7, "output_dim": 2, "mask_zero": True}),
    ("Masking", {"mask_value": -1.0}),
]


@pytest.mark.parametrize("name, kwargs", CONFIG_CASES, ids=[c[0] for c in CONFIG_CASES])
def test_config_keys_match_keras_and_round_trip(k3, name, kwargs):
    ours = getattr(layers, name)(**kwargs)
    theirs = getattr(k3.layers, name)(**kwargs)
    config = ours.get_config()
    assert set(config) == set(theirs.get_config())
    clone = type(ours).from_config(config)
    assert clone.get_config() == {**config, "name": clone.name}
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(ours))
    assert type(restored) is type(ours) and restored.get_config() == config


@pytest.mark.parametrize("make", [
    lambda lib: lib.layers.RNN(lib.layers.LSTMCell(3), return_state=True,
                               zero_output_for_mask=True),
    lambda lib: lib.layers.RNN([lib.layers.GRUCell(2), lib.layers.SimpleRNNCell(3)]),
    lambda lib: lib.layers.StackedRNNCells([lib.layers.LSTMCell(2), lib.layers.GRUCell(3)]),
    lambda lib: lib.layers.Bidirectional(lib.layers.GRU(3, return_sequences=True),
                                         merge_mode="ave"),
    lambda lib: lib.layers.TimeDistributed(lib.layers.Dense(2)),
], ids=["RNN", "RNN-stacked", "StackedRNNCells", "Bidirectional", "TimeDistributed"])
def test_wrapper_configs_match_keras_and_round_trip(k3, make):
    ours, theirs = make(keras), make(k3)
    config = ours.get_config()
    assert set(config) == set(theirs.get_config())
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(ours))
    assert restored.get_config() == config


def test_custom_cell_config_round_trip_and_weights():
    layer = layers.RNN(LNSimpleRNNCell(4), return_sequences=True)
    x = np.random.default_rng(0).standard_normal((2, 3, 5)).astype("float32")
    out = layer(x).numpy()
    config = keras.saving.serialize_keras_object(layer)
    assert config["config"]["cell"]["registered_name"] == "rnn_tests>LNSimpleRNNCell"
    restored = keras.saving.deserialize_keras_object(config)
    restored(x)
    restored.set_weights(layer.get_weights())
    np.testing.assert_allclose(restored(x).numpy(), out, atol=1e-6)
    assert [w.name for w in layer.weights] == ["kernel", "recurrent_kernel", "bias", "gamma",
                                               "beta"]


def test_weights_names_shapes_and_properties(k3):
    for kind, extra in (("SimpleRNN", {}), ("LSTM", {}), ("GRU", {}),
                        ("GRU", {"reset_after": False})):
        ours = getattr(layers, kind)(7, **extra)
        theirs = getattr(k3.layers, kind)(7, **extra)
        ours.build((None, 4, 3))
        theirs.build((None, 4, 3))
        assert [(w.name, w.shape) for w in ours.weights] == \
            [(w.name, tuple(w.shape)) for w in theirs.weights]
        assert ours.units == 7 and ours.cell.units == 7
    lstm = layers.LSTM(3)
    lstm.build((None, 2, 1))
    np.testing.assert_array_equal(lstm.cell.bias.numpy(), [0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    assert layers.GRU(2).reset_after and layers.LSTM(2).unit_forget_bias
    assert layers.LSTM(2).recurrent_initializer.__class__.__name__ == "Orthogonal"


def test_regularizers_and_constraints_act_like_keras(k3):
    kwargs = {"units": 3, "kernel_regularizer": "l2", "recurrent_regularizer": "l1",
              "bias_regularizer": keras.regularizers.L1L2(0.1, 0.2),
              "activity_regularizer": "l2", "kernel_constraint": "non_neg"}
    k_kwargs = {**kwargs, "bias_regularizer": k3.regularizers.L1L2(0.1, 0.2)}
    rng = np.random.default_rng(21)
    x = rng.standard_normal((4, 5, 2)).astype("float32")
    ours, theirs = layers.GRU(**kwargs), k3.layers.GRU(**k_kwargs)
    ours(x)
    theirs(x)
    theirs.set_weights(randomize(ours, rng))
    ours(x)
    theirs(x)
    np.testing.assert_allclose(sum(float(v) for v in ours.losses),
                               sum(float(k3.ops.convert_to_numpy(v)) for v in theirs.losses),
                               rtol=1e-5)
    assert ours.cell.kernel.constraint is not None


def test_bad_arguments_raise_like_keras(k3):
    with pytest.raises(ValueError, match="time_major"):
        layers.LSTM(3, time_major=True)
    with pytest.raises(ValueError):
        k3.layers.LSTM(3, time_major=True)
    for kind in ("SimpleRNN", "LSTM", "GRU", "SimpleRNNCell", "LSTMCell", "GRUCell"):
        with pytest.raises(ValueError, match="units"):
            getattr(layers, kind)(0)
    with pytest.raises(ValueError, match="use_cudnn"):
        layers.GRU(2, use_cudnn="yes")
    with pytest.raises(ValueError, match="call"):
        layers.RNN(object())
    with pytest.raises(ValueError, match="ndim=3"):
        layers.LSTM(2)(np.zeros((3, 4), "float32"))
    with pytest.raises(ValueError, match="initial state"):
        layers.LSTM(2)(np.zeros((3, 4, 1), "float32"), initial_state=[np.zeros((3, 2))])
    with pytest.raises(ValueError, match="time step"):
        layers.GRU(2)(np.zeros((3, 0, 1), "float32"))
