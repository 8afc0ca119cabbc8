"""The recurrent cells: SimpleRNNCell, LSTMCell, GRUCell and StackedRNNCells.

A cell follows Keras' protocol: ``state_size``, ``output_size``, ``call(inputs, states,
training)`` returning ``(output, new_states)`` and ``get_initial_state(batch_size)``. The
built-in cells' ``call`` is ``input_projection`` (``inputs @ kernel + bias`` after input
dropout) then ``recurrence`` (the rest of the step, from the projected input and the
states), in recorded keras ops: what an RNN layer runs at each step when the fused kernels
do not apply (``rnn.py``), and what a cell called on its own runs. Weights, their shapes,
names and order, gate order (LSTM: i, f, c, o; GRU: z, r, h) and dropout are Keras 3's.
"""
import numpy as np

from ... import _nn, activations, constraints, initializers, ops
from ... import random as _random, regularizers
from ...saving import deserialize_keras_object, serialize_keras_object
from ..._tensor import value_of
from ..layer import Layer

__all__ = ["DropoutRNNCell", "GRUCell", "LSTMCell", "SimpleRNNCell", "StackedRNNCells"]


def _check_units(units):
    if isinstance(units, bool) or not isinstance(units, int) or units <= 0:
        raise ValueError("Received an invalid value for argument `units`, expected a positive "
                         f"integer, got {units}.")


def _is_nested(states):
    return isinstance(states, (list, tuple))


class DropoutRNNCell:
    """Dropout masks drawn once per RNN call and reused at every time step, as Keras does.

    A mask keeps each unit with probability 1 - rate and scales kept units by 1 / (1 - rate).
    Cells with ``dropout_mask_count`` (LSTM and GRU with ``implementation=1``) draw one mask
    per gate. The RNN layer resets the masks after each call. Draws come from the cell's own
    generator when it has a ``seed``, else from turbolearn.keras.random's global one.
    """

    def _create_dropout_mask(self, step_input, rate):
        value = value_of(step_input)
        dtype = value.dtype if np.issubdtype(value.dtype, np.floating) else np.dtype("float32")
        rng = _random.generator_or_global(getattr(self, "_rng", None))

        def draw():
            if rate >= 1:
                return np.zeros(value.shape, dtype=dtype)
            keep = rng.random(value.shape) >= rate
            return keep.astype(dtype) / dtype.type(1 - rate)
        count = getattr(self, "dropout_mask_count", None)
        return draw() if count is None else [draw() for _ in range(count)]

    def get_dropout_mask(self, step_input):
        if getattr(self, "_dropout_mask", None) is None and self.dropout > 0:
            self._dropout_mask = self._create_dropout_mask(step_input, self.dropout)
        return getattr(self, "_dropout_mask", None)

    def get_recurrent_dropout_mask(self, step_input):
        if getattr(self, "_recurrent_dropout_mask", None) is None and \
                self.recurrent_dropout > 0:
            self._recurrent_dropout_mask = self._create_dropout_mask(
                step_input, self.recurrent_dropout)
        return getattr(self, "_recurrent_dropout_mask", None)

    # The RNN layer resets after every call: assign only when there is a mask (a Layer's
    # attribute assignment runs its tracking).
    def reset_dropout_mask(self):
        if getattr(self, "_dropout_mask", None) is not None:
            self._dropout_mask = None

    def reset_recurrent_dropout_mask(self):
        if getattr(self, "_recurrent_dropout_mask", None) is not None:
            self._recurrent_dropout_mask = None


class _BuiltinCell(Layer, DropoutRNNCell):
    """What SimpleRNNCell, LSTMCell and GRUCell share: arguments, weights (kernel
    (input_dim, gates * units), recurrent_kernel (units, gates * units), bias), the input
    projection, dropout and config."""

    gates = 1

    def __init__(self, units, activation, use_bias, kernel_initializer, recurrent_initializer,
                 bias_initializer, kernel_regularizer, recurrent_regularizer, bias_regularizer,
                 kernel_constraint, recurrent_constraint, bias_constraint, dropout,
                 recurrent_dropout, seed, **kwargs):
        _check_units(units)
        super().__init__(**kwargs)
        self.units = units
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.dropout = min(1.0, max(0.0, dropout))
        self.recurrent_dropout = min(1.0, max(0.0, recurrent_dropout))
        self.seed = seed
        self._rng = _random.make_generator(seed)
        self.output_size = units

    # --- weights -----------------------------------------------------------------------------

    def _bias_shape(self):
        return (self.gates * self.units,)

    def _bias_initializer(self):
        return self.bias_initializer

    def build(self, input_shape):
        width = self.gates * self.units
        self.kernel = self.add_weight(shape=(input_shape[-1], width), name="kernel",
                                      initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight(shape=(self.units, width),
                                                name="recurrent_kernel",
                                                initializer=self.recurrent_initializer,
                                                regularizer=self.recurrent_regularizer,
                                                constraint=self.recurrent_constraint)
        self.bias = (self.add_weight(shape=self._bias_shape(), name="bias",
                                     initializer=self._bias_initializer(),
                                     regularizer=self.bias_regularizer,
                                     constraint=self.bias_constraint)
                     if self.use_bias else None)
        self.built = True

    # --- the step ----------------------------------------------------------------------------

    def _dropout_applies(self, rate, training):
        return bool(training) and 0.0 < rate < 1.0

    def _input_bias(self):
        return self.bias

    def input_projection(self, inputs, training=False):
        """``dropout(inputs) @ kernel + input bias`` for the inputs of one step (batch,
        features): one dense op (one per gate when each gate has its own dropout mask)."""
        bias = self._input_bias()
        if not self._dropout_applies(self.dropout, training):
            return _nn.dense(inputs, self.kernel, bias)
        masks = self.get_dropout_mask(inputs)
        if not isinstance(masks, list):
            return _nn.dense(ops.multiply(inputs, masks), self.kernel, bias)
        parts = []
        for g, mask in enumerate(masks):
            cols = slice(g * self.units, (g + 1) * self.units)
            part = ops.matmul(ops.multiply(inputs, mask), self.kernel[:, cols])
            parts.append(part if bias is None else ops.add(part, bias[cols]))
        return ops.concatenate(parts, axis=-1)

    def _recurrent_masks(self, h, training):
        """The recurrent dropout mask(s) of state h, or None when it does not apply."""
        if not self._dropout_applies(self.recurrent_dropout, training):
            return None
        return self.get_recurrent_dropout_mask(h)

    def _gate_matmuls(self, h, masks, first, last):
        """``h @ recurrent_kernel[:, gates first..last)``, with each gate's recurrent dropout
        mask applied to h (implementation 1) when there are masks."""
        u = self.units
        if masks is None:
            kernel = self.recurrent_kernel if (first, last) == (0, self.gates) else \
                self.recurrent_kernel[:, first * u:last * u]
            return ops.matmul(h, kernel)
        return ops.concatenate([ops.matmul(ops.multiply(h, masks[g]),
                                           self.recurrent_kernel[:, g * u:(g + 1) * u])
                                for g in range(first, last)], axis=-1)

    def call(self, inputs, states, training=False):
        return self.recurrence(self.input_projection(inputs, training), states, training)

    def get_initial_state(self, batch_size=None):
        sizes = self.state_size if _is_nested(self.state_size) else [self.state_size]
        return [ops.zeros((batch_size, d), dtype=self.dtype) for d in sizes]

    # --- config ------------------------------------------------------------------------------

    def get_config(self):
        return {**super().get_config(), "units": self.units,
                "activation": activations.serialize(self.activation),
                "use_bias": self.use_bias,
                "kernel_initializer": serialize_keras_object(self.kernel_initializer),
                "recurrent_initializer": serialize_keras_object(self.recurrent_initializer),
                "bias_initializer": serialize_keras_object(self.bias_initializer),
                "kernel_regularizer": serialize_keras_object(self.kernel_regularizer),
                "recurrent_regularizer": serialize_keras_object(self.recurrent_regularizer),
                "bias_regularizer": serialize_keras_object(self.bias_regularizer),
                "kernel_constraint": serialize_keras_object(self.kernel_constraint),
                "recurrent_constraint": serialize_keras_object(self.recurrent_constraint),
                "bias_constraint": serialize_keras_object(self.bias_constraint),
                "dropout": self.dropout, "recurrent_dropout": self.recurrent_dropout,
                "seed": self.seed}


class SimpleRNNCell(_BuiltinCell):
    """``h = activation(x @ kernel + bias + h_prev @ recurrent_kernel)``."""

    def __init__(self, units, activation="tanh", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None,
                 **kwargs):
        super().__init__(units, activation, use_bias, kernel_initializer,
                         recurrent_initializer, bias_initializer, kernel_regularizer,
                         recurrent_regularizer, bias_regularizer, kernel_constraint,
                         recurrent_constraint, bias_constraint, dropout, recurrent_dropout,
                         seed, **kwargs)
        self.state_size = units

    def _dropout_applies(self, rate, training):
        return bool(training) and rate > 0.0  # Keras' SimpleRNNCell also drops at rate 1

    def recurrence(self, projected, states, training=False):
        h = states[0] if _is_nested(states) else states
        masks = self._recurrent_masks(h, training)
        if masks is not None:
            h = ops.multiply(h, masks)
        output = self.activation(ops.add(projected, ops.matmul(h, self.recurrent_kernel)))
        return output, [output] if _is_nested(states) else output


class LSTMCell(_BuiltinCell):
    """``z = x @ kernel + h @ recurrent_kernel + bias`` split into gates i, f, c, o;
    ``c = f * c_prev + i * activation(z_c)``, ``h = o * activation(c)`` (i, f, o through
    ``recurrent_activation``)."""

    gates = 4

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None,
                 **kwargs):
        implementation = kwargs.pop("implementation", 2)
        super().__init__(units, activation, use_bias, kernel_initializer,
                         recurrent_initializer, bias_initializer, kernel_regularizer,
                         recurrent_regularizer, bias_regularizer, kernel_constraint,
                         recurrent_constraint, bias_constraint, dropout, recurrent_dropout,
                         seed, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.unit_forget_bias = unit_forget_bias
        _set_implementation(self, implementation)
        self.state_size = [units, units]

    def _bias_initializer(self):
        if not self.unit_forget_bias:
            return self.bias_initializer
        units, init = self.units, self.bias_initializer

        def initializer(shape, dtype=None):  # the forget gate's bias starts at one
            return np.concatenate([np.asarray(value_of(init((units,), dtype=dtype))),
                                   np.ones(units, dtype=dtype),
                                   np.asarray(value_of(init((2 * units,), dtype=dtype)))])
        return initializer

    def recurrence(self, projected, states, training=False):
        h, c = states[0], states[1]
        z = ops.add(projected, self._gate_matmuls(h, self._recurrent_masks(h, training), 0, 4))
        z_i, z_f, z_c, z_o = ops.split(z, 4, axis=-1)
        i = self.recurrent_activation(z_i)
        f = self.recurrent_activation(z_f)
        c = ops.add(ops.multiply(f, c), ops.multiply(i, self.activation(z_c)))
        o = self.recurrent_activation(z_o)
        h = ops.multiply(o, self.activation(c))
        return h, [h, c]

    def get_config(self):
        return {**super().get_config(),
                "recurrent_activation": activations.serialize(self.recurrent_activation),
                "unit_forget_bias": self.unit_forget_bias}


class GRUCell(_BuiltinCell):
    """Gates z (update), r (reset), h (candidate); ``h = z * h_prev + (1 - z) * hh``.

    ``reset_after=True`` (Keras 3's default, PyTorch's GRU): ``hh = activation(x_h + r *
    (h_prev @ U_h + b_rec_h))``, with a bias of shape (2, 3 * units): input and recurrent
    biases. ``reset_after=False`` (the original GRU, the book's equations):
    ``hh = activation(x_h + (r * h_prev) @ U_h)``, with one bias of shape (3 * units,).
    """

    gates = 3

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None,
                 dropout=0.0, recurrent_dropout=0.0, reset_after=True, seed=None, **kwargs):
        implementation = kwargs.pop("implementation", 2)
        super().__init__(units, activation, use_bias, kernel_initializer,
                         recurrent_initializer, bias_initializer, kernel_regularizer,
                         recurrent_regularizer, bias_regularizer, kernel_constraint,
                         recurrent_constraint, bias_constraint, dropout, recurrent_dropout,
                         seed, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.reset_after = reset_after
        _set_implementation(self, implementation)
        self.state_size = units

    def _bias_shape(self):
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def _input_bias(self):
        if self.bias is None or not self.reset_after:
            return self.bias
        return self.bias[0]

    def recurrence(self, projected, states, training=False):
        h = states[0] if _is_nested(states) else states
        masks = self._recurrent_masks(h, training)
        x_z, x_r, x_h = ops.split(projected, 3, axis=-1)
        if self.reset_after:
            inner = self._gate_matmuls(h, masks, 0, 3)
            if self.bias is not None:
                inner = ops.add(inner, self.bias[1])
            h_z, h_r, h_h = ops.split(inner, 3, axis=-1)
        else:
            h_z, h_r = ops.split(self._gate_matmuls(h, masks, 0, 2), 2, axis=-1)
        z = self.recurrent_activation(ops.add(x_z, h_z))
        r = self.recurrent_activation(ops.add(x_r, h_r))
        if self.reset_after:
            candidate = ops.add(x_h, ops.multiply(r, h_h))
        else:
            reset = ops.multiply(r, h if masks is None else ops.multiply(h, masks[2]))
            u = self.units
            candidate = ops.add(x_h, ops.matmul(reset, self.recurrent_kernel[:, 2 * u:]))
        hh = self.activation(candidate)
        new = ops.add(hh, ops.multiply(z, ops.subtract(h, hh)))  # z * h + (1 - z) * hh
        return new, [new] if _is_nested(states) else new

    def get_config(self):
        return {**super().get_config(),
                "recurrent_activation": activations.serialize(self.recurrent_activation),
                "reset_after": self.reset_after}


def _set_implementation(cell, implementation):
    """Keras' ``implementation``: 2 (one mask, one matmul for all gates) unless recurrent
    dropout asks for 1 (a mask per gate)."""
    if implementation not in (1, 2):
        raise ValueError(f"`implementation` must be 1 or 2. Received: {implementation!r}")
    cell.implementation = 1 if cell.recurrent_dropout != 0.0 else implementation
    if cell.implementation == 1:
        cell.dropout_mask_count = cell.gates


class StackedRNNCells(Layer):
    """Cells run one after the other within each time step: a deep RNN in one layer."""

    def __init__(self, cells, **kwargs):
        super().__init__(**kwargs)
        for cell in cells:
            if "call" not in dir(cell):
                raise ValueError("All cells must have a `call` method. Received cell without "
                                 f"a `call` method: {cell}")
            if "state_size" not in dir(cell):
                raise ValueError("All cells must have a `state_size` attribute. Received "
                                 f"cell without a `state_size`: {cell}")
        self.cells = list(cells)

    @property
    def state_size(self):
        return [c.state_size for c in self.cells]

    @property
    def output_size(self):
        return _output_size(self.cells[-1])

    def get_initial_state(self, batch_size=None):
        states = []
        for cell in self.cells:
            get = getattr(cell, "get_initial_state", None)
            if get is not None:
                states.append(get(batch_size=batch_size))
            elif isinstance(cell.state_size, int):
                states.append(ops.zeros((batch_size, cell.state_size), dtype=self.dtype))
            else:
                states.append([ops.zeros((batch_size, d), dtype=self.dtype)
                               for d in cell.state_size])
        return states

    def call(self, inputs, states, training=False):
        new_states = []
        for cell, cell_states in zip(self.cells, states):
            was_list = _is_nested(cell_states)
            cell_states = list(cell_states) if was_list else [cell_states]
            kwargs = ({"training": training}
                      if isinstance(cell, Layer) and cell._call_has_training else {})
            inputs, cell_states = (cell if callable(cell) else cell.call)(
                inputs, cell_states, **kwargs)
            cell_states = list(cell_states) if _is_nested(cell_states) else [cell_states]
            new_states.append(cell_states[0] if len(cell_states) == 1 and not was_list
                              else cell_states)
        return inputs, new_states[0] if len(new_states) == 1 else new_states

    def build(self, input_shape):
        for cell in self.cells:
            if isinstance(cell, Layer) and not cell.built:
                cell._maybe_build([tuple(input_shape)])
            input_shape = (input_shape[0], _output_size(cell))
        self.built = True

    def get_config(self):
        return {**super().get_config(),
                "cells": [serialize_keras_object(cell) for cell in self.cells]}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        cells = [deserialize_keras_object(c, custom_objects) for c in config.pop("cells")]
        return cls(cells, **config)


def _output_size(cell):
    size = getattr(cell, "output_size", None)
    if size is not None:
        return size
    return cell.state_size[0] if _is_nested(cell.state_size) else cell.state_size
