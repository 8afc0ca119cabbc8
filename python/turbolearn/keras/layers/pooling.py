"""Pooling layers: max and average pooling over 1-D and 2-D windows, and their global forms.

Each layer is one recorded op per direction on the pool2d kernels (``keras/_nn.py``): the
data is pooled as NHWC images (a 1-D sequence is an image of one row; channels_first input
is transposed in and out within the op). ``padding='same'`` (any case) pads as TensorFlow
does, the extra element at the end, and a window averages over its valid elements only.
Keras 3 on PyTorch differs there in one case: for an asymmetric 'same' padding it pads by
replicating the edge, so its averages count the edge element twice (its maxima agree).
"""
from .. import ops
from .._nn import global_pool, pool, standardize_data_format, standardize_tuple
from .layer import Layer

__all__ = [
    "AveragePooling1D", "AveragePooling2D", "AvgPool1D", "AvgPool2D",
    "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAvgPool1D", "GlobalAvgPool2D",
    "GlobalMaxPool1D", "GlobalMaxPool2D", "GlobalMaxPooling1D", "GlobalMaxPooling2D",
    "MaxPool1D", "MaxPool2D", "MaxPooling1D", "MaxPooling2D",
]


def check_rank(layer, shape, ndim):
    """Keras' InputSpec(ndim=...) check, with its message."""
    if len(shape) != ndim:
        raise ValueError(f"Input 0 of layer '{layer.name}' is incompatible with the layer: "
                         f"expected ndim={ndim}, found ndim={len(shape)}. Full shape "
                         f"received: {tuple(shape)}")


def autocast(layer, inputs):
    """Floating inputs in the layer's dtype, as Keras' layers cast them."""
    dtype = getattr(inputs, "dtype", None)
    if dtype is not None and "float" in str(dtype) and str(dtype) != layer.dtype:
        return ops.cast(inputs, layer.dtype)
    return inputs


def spatial_axes(data_format, rank):
    """The spatial axes of a batch of that rank in that data format."""
    return tuple(range(2, rank)) if data_format == "channels_first" else tuple(range(1, rank - 1))


class _Pooling(Layer):
    """Keras' BasePooling: ``pool_size``, ``strides`` (None: pool_size), ``padding``
    ('valid' / 'same', any case; kept as given in the config), ``data_format``."""
    _dims = 2
    _mode = "max"

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.pool_size = standardize_tuple(pool_size, self._dims, "pool_size")
        self.strides = standardize_tuple(pool_size if strides is None else strides,
                                         self._dims, "strides")
        if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
            raise ValueError("Argument `padding` must be either 'valid' or 'same'. Received: "
                             f"padding={padding}")
        self.padding = padding
        self.data_format = standardize_data_format(data_format)

    def call(self, inputs):
        check_rank(self, ops.shape(inputs), self._dims + 2)
        return pool(autocast(self, inputs), self.pool_size, self.strides, self.padding.lower(),
                    self._mode, self.data_format)

    def compute_output_shape(self, input_shape):
        check_rank(self, input_shape, self._dims + 2)
        shape = list(input_shape)
        for axis, k, s in zip(spatial_axes(self.data_format, len(shape)), self.pool_size,
                              self.strides):
            size = shape[axis]
            if size is None:
                continue
            valid = self.padding.lower() == "valid"
            shape[axis] = (size - k) // s + 1 if valid else (size - 1) // s + 1
            if shape[axis] <= 0:
                raise ValueError("Computed output size would be zero or negative. Received: "
                                 f"`inputs.shape={list(input_shape)}`, `pool_size="
                                 f"{list(self.pool_size)}`, `strides={self.strides}`, "
                                 f"`padding={self.padding}`.")
        return tuple(shape)

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size, "padding": self.padding,
                "strides": self.strides, "data_format": self.data_format}


class MaxPooling2D(_Pooling):
    """The maximum of each ``pool_size`` window of each channel, moved by ``strides``."""

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None,
                 name=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name=name, **kwargs)


class AveragePooling2D(_Pooling):
    """The mean of each ``pool_size`` window of each channel (valid elements only)."""
    _mode = "average"

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None,
                 name=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name=name, **kwargs)


class MaxPooling1D(_Pooling):
    """Max pooling over the steps of (batch, steps, features) sequences."""
    _dims = 1

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None,
                 name=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name=name, **kwargs)


class AveragePooling1D(_Pooling):
    """Average pooling over the steps of (batch, steps, features) sequences."""
    _dims = 1
    _mode = "average"

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None,
                 name=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name=name, **kwargs)


class _GlobalPooling(Layer):
    """Keras' BaseGlobalPooling: max or mean over every spatial axis, ``keepdims`` keeping
    them with size 1."""
    _dims = 2
    _mode = "max"

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format)
        self.keepdims = keepdims

    def call(self, inputs):
        check_rank(self, ops.shape(inputs), self._dims + 2)
        return global_pool(autocast(self, inputs), self._mode, self.data_format, self.keepdims)

    def compute_output_shape(self, input_shape):
        check_rank(self, input_shape, self._dims + 2)
        first = self.data_format == "channels_first"
        channels = input_shape[1] if first else input_shape[-1]
        if not self.keepdims:
            return (input_shape[0], channels)
        ones = (1,) * self._dims
        if first:
            return (input_shape[0], channels) + ones
        return (input_shape[0],) + ones + (channels,)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format,
                "keepdims": self.keepdims}


class GlobalMaxPooling2D(_GlobalPooling):
    """The maximum of each channel over the image."""


class GlobalAveragePooling2D(_GlobalPooling):
    """The mean of each channel over the image."""
    _mode = "average"


class GlobalMaxPooling1D(_GlobalPooling):
    """The maximum of each feature over the steps."""
    _dims = 1


class GlobalAveragePooling1D(_GlobalPooling):
    """The mean of each feature over the steps; with a mask (batch, steps), over the
    unmasked steps only (Keras' masked mean, written with recorded ops)."""
    _dims = 1
    _mode = "average"

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(data_format, keepdims, **kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            return super().call(inputs)
        check_rank(self, ops.shape(inputs), 3)
        inputs = autocast(self, inputs)
        steps = 1 if self.data_format == "channels_last" else 2
        expanded = ops.cast(ops.expand_dims(mask, 2 if steps == 1 else 1), "bool")
        weights = ops.cast(expanded, inputs.dtype)
        return (ops.sum(ops.where(expanded, inputs, 0.0), axis=steps, keepdims=self.keepdims)
                / ops.sum(weights, axis=steps, keepdims=self.keepdims))


# Keras' aliases.
MaxPool1D, MaxPool2D = MaxPooling1D, MaxPooling2D
AvgPool1D, AvgPool2D = AveragePooling1D, AveragePooling2D
GlobalMaxPool1D, GlobalMaxPool2D = GlobalMaxPooling1D, GlobalMaxPooling2D
GlobalAvgPool1D, GlobalAvgPool2D = GlobalAveragePooling1D, GlobalAveragePooling2D
