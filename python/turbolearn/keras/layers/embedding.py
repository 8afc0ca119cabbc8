"""The layers that start a masked sequence: Embedding (``mask_zero``) and Masking.

Embedding's lookup is one recorded gather; its backward adds the output gradient rows into
the rows of the looked-up indices with one sparse (CSR) product on the CPU, duplicate
indices summed, instead of a scatter loop.
"""
import warnings

import numpy as np

from .. import constraints, initializers, ops, regularizers
from ..._ops._backend import array_namespace
from .._tensor import record, value_of
from ..saving import serialize_keras_object
from .layer import Layer

__all__ = ["Embedding", "Masking"]


def gather_rows(table, indices):
    """``table[indices]`` (any index shape) as a recorded op; the gradient of ``table`` sums
    the output gradient over every position of each index."""
    tv = value_of(table)
    idx = indices
    y = tv[idx]

    def backward(g, needs):
        rows = g.reshape(-1, tv.shape[1])
        flat = idx.reshape(-1)
        if isinstance(rows, np.ndarray):
            from scipy import sparse
            ones = np.ones(flat.size, dtype=rows.dtype)
            scatter = sparse.csr_matrix((ones, (flat, np.arange(flat.size))),
                                        shape=(tv.shape[0], flat.size))
            return (np.ascontiguousarray(scatter @ rows, dtype=rows.dtype),)
        grad = array_namespace(rows).zeros(tv.shape, dtype=rows.dtype)
        array_namespace(rows).add.at(grad, flat, rows)
        return (grad,)
    return record(y, (table,), backward)


class Embedding(Layer):
    """Maps non-negative integer indices below ``input_dim`` to rows of an ``(input_dim,
    output_dim)`` weight, ``embeddings``. With ``mask_zero`` the index 0 is padding: the
    output's mask is ``inputs != 0`` (so ``input_dim`` must count it)."""

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform",
                 embeddings_regularizer=None, embeddings_constraint=None, mask_zero=False,
                 weights=None, quantization_config=None, **kwargs):
        for name, value in (("input_dim", input_dim), ("output_dim", output_dim)):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"`{name}` must be a positive integer. Received: "
                                 f"{name}={value} (of type {type(value).__name__}).")
        if quantization_config is not None:
            raise ValueError("turbolearn's Embedding does not quantize: pass "
                             "quantization_config=None")
        if kwargs.pop("input_length", None) is not None:
            warnings.warn("Argument `input_length` is deprecated. Just remove it.")
        super().__init__(**kwargs)
        self.input_dim = input_dim
        self.output_dim = output_dim
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        self.mask_zero = mask_zero
        self.supports_masking = mask_zero
        if weights is not None:
            self.build()
            self.set_weights(weights if isinstance(weights, list) and len(weights) == 1
                             else [weights])

    def build(self, input_shape=None):
        if self.built:
            return
        self.embeddings = self.add_weight(shape=(self.input_dim, self.output_dim),
                                          initializer=self.embeddings_initializer,
                                          name="embeddings",
                                          regularizer=self.embeddings_regularizer,
                                          constraint=self.embeddings_constraint)
        self.built = True

    def call(self, inputs):
        idx = value_of(inputs)
        if not np.issubdtype(idx.dtype, np.integer):
            idx = idx.astype("int32")
        if idx.size and (idx.min() < 0 or idx.max() >= self.input_dim):
            raise ValueError(f"Layer {self.name!r} (Embedding): indices must lie in "
                             f"[0, {self.input_dim}), got values in [{idx.min()}, "
                             f"{idx.max()}]")
        return gather_rows(self.embeddings, idx)

    def compute_mask(self, inputs, mask=None):
        if not self.mask_zero:
            return None
        return ops.not_equal(inputs, 0)

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.output_dim)

    def get_config(self):
        return {**super().get_config(), "input_dim": self.input_dim,
                "output_dim": self.output_dim,
                "embeddings_initializer": serialize_keras_object(self.embeddings_initializer),
                "embeddings_regularizer": serialize_keras_object(self.embeddings_regularizer),
                "activity_regularizer": serialize_keras_object(self.activity_regularizer),
                "embeddings_constraint": serialize_keras_object(self.embeddings_constraint),
                "mask_zero": self.mask_zero, "quantization_config": None}


class Masking(Layer):
    """Masks the time steps whose features all equal ``mask_value``: they are set to 0 and
    the output's mask marks them False, so later layers (RNNs, losses, metrics) skip them."""

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.mask_value = mask_value
        self.supports_masking = True

    def compute_mask(self, inputs, mask=None):
        return ops.any(ops.not_equal(inputs, self.mask_value), axis=-1)

    def call(self, inputs):
        keep = ops.any(ops.not_equal(inputs, self.mask_value), axis=-1, keepdims=True)
        outputs = ops.where(keep, inputs, 0.0)
        outputs._keras_mask = value_of(keep)[..., 0]
        return outputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "mask_value": self.mask_value}
