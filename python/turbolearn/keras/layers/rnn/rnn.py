"""The RNN layer (``keras.layers.RNN``) and the built-in recurrent layers SimpleRNN, LSTM, GRU.

``RNN(cell)`` runs any cell that follows Keras' protocol over the time axis (``rnn_loop``).
The built-in layers are RNNs of their cells with Keras 3's arguments, properties and config.
A built-in cell whose activations and dtype the rnn kernels have runs the whole sequence as
one fused op (``RNN._builtin_cell_sequence``, on ``keras._nn.rnn_sequence``); any other cell
is called once per time step.
"""
import numpy as np

from ... import _nn, ops, regularizers
from ...saving import deserialize_keras_object, serialize_keras_object
from ..._tensor import Tensor, Variable, _flatten, value_of
from ..layer import KerasTensor, Layer
from .cells import DropoutRNNCell, GRUCell, LSTMCell, SimpleRNNCell, StackedRNNCells
from .loop import rnn_loop

__all__ = ["GRU", "LSTM", "RNN", "SimpleRNN"]

_FUSED_CELLS = {SimpleRNNCell: "simple_rnn", LSTMCell: "lstm", GRUCell: "gru"}
_FUSED_DTYPES = (np.dtype("float32"), np.dtype("float64"))


def _fused_cell(cell):
    """The rnn kernels' name for ``cell`` ("simple_rnn", "lstm", "gru") when they compute
    exactly what its call does, else None: a subclass (its call may differ), an activation
    the kernels do not fuse (``keras._nn.rnn_activation``) or a dtype they do not have."""
    kind = _FUSED_CELLS.get(type(cell))
    if kind is None or cell.kernel.value.dtype not in _FUSED_DTYPES:
        return None
    if _nn.rnn_activation(cell.activation) is None:
        return None
    if kind != "simple_rnn" and _nn.rnn_activation(cell.recurrent_activation) is None:
        return None
    return kind


def _is_nested(x):
    return isinstance(x, (list, tuple))


def _is_shape(x):
    return isinstance(x, tuple) and all(d is None or isinstance(d, int) for d in x)


def _specs(shapes, dtype):
    """KerasTensors in the (possibly nested) structure of ``shapes``."""
    if _is_shape(shapes):
        return KerasTensor(shapes, dtype)
    return [_specs(s, dtype) for s in shapes]


class RNN(Layer):
    """Runs ``cell`` over the time axis of (batch, time, features) inputs.

    ``cell`` is an RNN cell (``call(inputs, states, training) -> (output, new_states)``,
    ``state_size``, optionally ``output_size`` and ``get_initial_state(batch_size)``) or a
    list of cells (stacked with StackedRNNCells). ``return_sequences``: the output of every
    step, else the last one; ``return_state``: the final states too; ``go_backwards``: the
    sequence from its end (outputs in that order); ``stateful``: each batch starts from the
    final states of the previous one (the batch size is then fixed); ``unroll`` is accepted
    and gives the same results (every loop here runs step by step in Python);
    ``zero_output_for_mask``: masked steps output zeros instead of the previous output.
    """

    def __init__(self, cell, return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, unroll=False, zero_output_for_mask=False, **kwargs):
        if "time_major" in kwargs:
            raise ValueError("Unrecognized keyword arguments passed to "
                             f"{type(self).__name__}: {{'time_major': "
                             f"{kwargs['time_major']!r}}} (time_major exists in Keras 2 only; "
                             "Keras 3 takes (batch, time, features) inputs)")
        if isinstance(cell, (list, tuple)):
            cell = StackedRNNCells(cell)
        if "call" not in dir(cell):
            raise ValueError(f"Argument `cell` should have a `call` method. Received: "
                             f"cell={cell}")
        if "state_size" not in dir(cell):
            raise ValueError("The RNN cell should have a `state_size` attribute (single "
                             "integer or list of integers, one integer per RNN state). "
                             f"Received: cell={cell}")
        super().__init__(**kwargs)
        self.zero_output_for_mask = zero_output_for_mask
        self.cell = cell
        self.return_sequences = return_sequences
        self.return_state = return_state
        self.go_backwards = go_backwards
        self.stateful = stateful
        self.unroll = unroll
        self.supports_masking = True
        object.__setattr__(self, "states", None)  # not weights: Keras does not track them
        self._expected_batch_size = None
        state_size = getattr(cell, "state_size", None)
        if state_size is None:
            raise ValueError("state_size must be specified as property on the RNN cell.")
        if not isinstance(state_size, (list, tuple, int)):
            raise ValueError("state_size must be an integer, or a list/tuple of integers "
                             "(one for each state tensor).")
        self.single_state = isinstance(state_size, int)
        self.state_size = [state_size] if self.single_state else list(state_size)

    # --- shapes and masks --------------------------------------------------------------------

    def _output_size(self):
        size = getattr(self.cell, "output_size", None)
        if size is None:
            size = self.state_size[0]
        if not isinstance(size, int):
            raise ValueError("output_size must be an integer.")
        return size

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        batch, length = sequences_shape[0], sequences_shape[1]
        states = [(batch, s) if isinstance(s, int) else [(batch, d) for d in s]
                  for s in self.state_size]
        output = ((batch, length, self._output_size()) if self.return_sequences
                  else (batch, self._output_size()))
        return (output, *states) if self.return_state else output

    def compute_output_spec(self, sequences, initial_state=None, mask=None, training=None):
        if self.unroll and sequences.shape[1] is None:
            raise ValueError("Cannot unroll a RNN if the time dimension is undefined. Pass "
                             "an `Input()` with a known number of time steps.")
        shapes = self.compute_output_shape(tuple(sequences.shape))
        return _specs(list(shapes) if self.return_state else shapes, sequences.dtype)

    def compute_mask(self, _, mask):
        mask = _flatten(mask)[0] if _is_nested(mask) else mask
        output_mask = mask if self.return_sequences else None
        if self.return_state:
            return [output_mask] + [None for _ in self.state_size]
        return output_mask

    # --- building and states -----------------------------------------------------------------

    def build(self, sequences_shape, initial_state_shape=None):
        sequences_shape = tuple(sequences_shape)
        if len(sequences_shape) < 3:
            raise ValueError(f"Input 0 of layer {self.name!r} is incompatible with the layer: "
                             f"expected ndim=3, found ndim={len(sequences_shape)}. Full shape "
                             f"received: {sequences_shape}")
        step_shape = (sequences_shape[0],) + sequences_shape[2:]
        if isinstance(self.cell, Layer) and not self.cell.built:
            self.cell._maybe_build([step_shape])
        if self.stateful:
            if self.states is not None:
                self.reset_state()
            else:
                if sequences_shape[0] is None:
                    raise ValueError("When using `stateful=True` in a RNN, the batch size "
                                     "must be static. Found dynamic batch size: "
                                     f"sequence.shape={sequences_shape}")
                states = [Variable(value_of(s), trainable=False, name="rnn_state")
                          for s in _flatten(self.get_initial_state(sequences_shape[0]))]
                object.__setattr__(self, "states", states)
                self._expected_batch_size = sequences_shape[0]
        self.built = True

    def get_initial_state(self, batch_size):
        get = getattr(self.cell, "get_initial_state", None)
        if get is None:
            dtype = getattr(self.cell, "dtype", None) or self.dtype
            return [ops.zeros((batch_size, d), dtype=dtype) for d in self.state_size]
        state = get(batch_size=batch_size)
        return list(state) if _is_nested(state) else [state]

    def reset_states(self):
        self.reset_state()

    def reset_state(self):
        """Zeroes the states of a stateful RNN (no effect on others)."""
        if self.states is not None:
            for v in self.states:
                v.assign(np.zeros(v.shape, dtype=v.dtype))

    # --- the call ----------------------------------------------------------------------------

    def _initial_state(self, sequences, initial_state):
        batch = sequences.shape[0]
        if initial_state is None:
            if self.stateful:
                # copies: the Variables are overwritten with the final states after the loop
                return [Tensor(v.value.copy()) for v in self.states]
            return self.get_initial_state(batch)
        states = list(initial_state) if _is_nested(initial_state) else [initial_state]
        expected = len(_flatten(self.get_initial_state(batch)))
        if len(_flatten(states)) != expected:
            raise ValueError(f"Layer {self.name!r} expects {expected} initial state "
                             f"tensor(s) (its cell's state_size is {self.state_size}), but "
                             f"it received {len(_flatten(states))}")
        return states

    def call(self, sequences, initial_state=None, mask=None, training=False):
        if len(sequences.shape) < 3 or sequences.shape[1] == 0:
            raise ValueError(f"Layer {self.name!r} expects inputs of shape (batch, time, "
                             f"features) with at least one time step, got "
                             f"{tuple(sequences.shape)}")
        if value_of(sequences).dtype != self.dtype:
            sequences = ops.cast(sequences, self.dtype)
        if self.stateful and self._expected_batch_size not in (None, sequences.shape[0]):
            raise ValueError("If an RNN is stateful, the batch size of the input sequences "
                             "must be the same as the batch size of the initial state.\n"
                             f"- Expected batch size: {self._expected_batch_size}\n"
                             f"- Received batch size: {sequences.shape[0]}")
        states = self._initial_state(sequences, initial_state)
        if mask is not None:
            mask = value_of(_flatten(mask)[0] if _is_nested(mask) else mask)
        try:
            last_output, outputs, states = self.inner_loop(sequences, states, mask, training)
        finally:
            _reset_dropout_masks(self.cell)
        if self.stateful:
            for variable, state in zip(self.states, _flatten(states)):
                variable.assign(value_of(state))
        output = outputs if self.return_sequences else last_output
        return (output, *states) if self.return_state else output

    def inner_loop(self, sequences, initial_state, mask, training=False):
        """``(last_output, outputs, states)`` of the whole sequence: one fused op for the
        built-in cells the kernels support (:meth:`_builtin_cell_sequence`), else the cell
        called at each time step."""
        kind = _fused_cell(self.cell)
        if kind is not None:
            return self._builtin_cell_sequence(sequences, initial_state, mask, training, kind)
        cell = self.cell
        call = cell if callable(cell) else cell.call
        kwargs = ({"training": training}
                  if isinstance(cell, Layer) and cell._call_has_training else {})

        def step(inputs, states):
            output, new_states = call(inputs, states, **kwargs)
            return output, new_states if _is_nested(new_states) else [new_states]
        return rnn_loop(step, sequences, initial_state, go_backwards=self.go_backwards,
                        mask=mask, zero_output_for_mask=self.zero_output_for_mask,
                        return_all_outputs=self.return_sequences)

    def _builtin_cell_sequence(self, sequences, initial_state, mask, training, kind):
        """The whole sequence of a SimpleRNNCell, LSTMCell or GRUCell (``kind``, from
        :func:`_fused_cell`) as one ``keras._nn.rnn_sequence`` op: ``(last_output, outputs,
        states)`` from sequences (batch, time, features), the initial states ([h] or [h, c])
        and the mask ((batch, time) booleans or None).

        In training the cell's dropout masks are drawn as its own call draws them (the input
        mask from the first step, then the recurrent mask from the initial state; one per
        gate in implementation 1) and applied at every step by the kernel.
        """
        cell = self.cell
        input_masks = (cell.get_dropout_mask(value_of(sequences)[:, 0])
                       if cell._dropout_applies(cell.dropout, training) else None)
        output, states = _nn.rnn_sequence(
            kind, sequences, cell.kernel, cell.recurrent_kernel, cell.bias, initial_state,
            activation=cell.activation,
            recurrent_activation=getattr(cell, "recurrent_activation", "sigmoid"),
            mask=mask, go_backwards=self.go_backwards, return_sequences=self.return_sequences,
            zero_output_for_mask=self.zero_output_for_mask, dropout_mask=input_masks,
            recurrent_dropout_mask=cell._recurrent_masks(initial_state[0], training),
            reset_after=getattr(cell, "reset_after", True))
        if self.return_sequences:
            return output[:, -1], output, states
        return output, ops.expand_dims(output, 1), states

    # --- config ------------------------------------------------------------------------------

    def get_config(self):
        return {**super().get_config(), "return_sequences": self.return_sequences,
                "return_state": self.return_state, "go_backwards": self.go_backwards,
                "stateful": self.stateful, "unroll": self.unroll,
                "zero_output_for_mask": self.zero_output_for_mask,
                "cell": serialize_keras_object(self.cell)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        cell = deserialize_keras_object(config.pop("cell"), custom_objects)
        return cls(cell, **config)


def _reset_dropout_masks(cell):
    if isinstance(cell, DropoutRNNCell):
        cell.reset_dropout_mask()
        cell.reset_recurrent_dropout_mask()
    if isinstance(cell, StackedRNNCells):
        for c in cell.cells:
            _reset_dropout_masks(c)


class _CellLayer(RNN):
    """An RNN of one built-in cell whose arguments the layer takes (SimpleRNN, LSTM, GRU):
    the cell's settings read as the layer's attributes (``layer.units``) and make up its
    config with the RNN's own."""

    settings = ("units", "activation", "use_bias", "kernel_initializer",
                "recurrent_initializer", "bias_initializer", "kernel_regularizer",
                "recurrent_regularizer", "bias_regularizer", "kernel_constraint",
                "recurrent_constraint", "bias_constraint", "dropout", "recurrent_dropout")

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name in cls.settings:
            setattr(cls, name, property(lambda self, name=name: getattr(self.cell, name)))

    def get_config(self):
        config = super().get_config()
        del config["cell"]
        cell_config = self.cell.get_config()
        for key in ("name", "trainable", "dtype"):
            del cell_config[key]
        return {**config, **cell_config,
                "activity_regularizer": regularizers.serialize(self.activity_regularizer)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return cls(**config)


def _check_use_cudnn(use_cudnn):
    """Keras' LSTM and GRU argument; every value runs the same code here (no cuDNN)."""
    if use_cudnn not in ("auto", True, False):
        raise ValueError("Invalid valid received for argument `use_cudnn`. Expected one of "
                         f"{{'auto', True, False}}. Received: use_cudnn={use_cudnn}")
    return use_cudnn


class SimpleRNN(_CellLayer):
    """A fully connected RNN: ``h = activation(x @ kernel + h_prev @ recurrent_kernel +
    bias)``, the output being h."""

    def __init__(self, units, activation="tanh", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, seed=None, **kwargs):
        cell = SimpleRNNCell(
            units, activation=activation, use_bias=use_bias,
            kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint, dropout=dropout,
            recurrent_dropout=recurrent_dropout, seed=seed, dtype=kwargs.get("dtype"),
            trainable=kwargs.get("trainable", True), name="simple_rnn_cell")
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                         activity_regularizer=activity_regularizer, **kwargs)

    def get_config(self):
        config = super().get_config()
        del config["seed"]  # Keras 3's SimpleRNN leaves its seed out of the config
        return config


class LSTM(_CellLayer):
    """Long Short-Term Memory (Hochreiter & Schmidhuber, 1997), Keras 3's LSTM: gates i, f,
    c, o; ``unit_forget_bias`` starts the forget gate's bias at one."""

    settings = _CellLayer.settings + ("recurrent_activation", "unit_forget_bias")

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, use_cudnn="auto", **kwargs):
        cell = LSTMCell(
            units, activation=activation, recurrent_activation=recurrent_activation,
            use_bias=use_bias, kernel_initializer=kernel_initializer,
            unit_forget_bias=unit_forget_bias, recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint, dropout=dropout,
            recurrent_dropout=recurrent_dropout, dtype=kwargs.get("dtype"),
            trainable=kwargs.get("trainable", True), name="lstm_cell", seed=seed,
            implementation=kwargs.pop("implementation", 2))
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                         activity_regularizer=activity_regularizer, **kwargs)
        self.use_cudnn = _check_use_cudnn(use_cudnn)


class GRU(_CellLayer):
    """Gated Recurrent Unit (Cho et al., 2014), Keras 3's GRU: ``reset_after=True`` by
    default (PyTorch's GRU), ``reset_after=False`` for the original formulation."""

    settings = _CellLayer.settings + ("recurrent_activation", "reset_after")

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None,
                 return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, unroll=False, reset_after=True, use_cudnn="auto", **kwargs):
        cell = GRUCell(
            units, activation=activation, recurrent_activation=recurrent_activation,
            use_bias=use_bias, kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint,
            dropout=dropout, recurrent_dropout=recurrent_dropout, reset_after=reset_after,
            dtype=kwargs.get("dtype"), trainable=kwargs.get("trainable", True),
            name="gru_cell", seed=seed, implementation=kwargs.pop("implementation", 2))
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                         activity_regularizer=activity_regularizer, **kwargs)
        self.use_cudnn = _check_use_cudnn(use_cudnn)
