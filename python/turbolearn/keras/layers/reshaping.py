"""Reshaping layers: Flatten, Reshape, Permute, RepeatVector (no weights, gradients through
keras.ops); UpSampling1D/2D, ZeroPadding1D/2D and Cropping1D/2D, each one recorded op on the
spatial axes of either data format (no transposes)."""
import math

import numpy as np

from .. import ops
from .._nn import standardize_data_format, standardize_tuple
from .._tensor import record
from .pooling import autocast, check_rank, spatial_axes
from .layer import Layer

__all__ = ["Cropping1D", "Cropping2D", "Flatten", "Permute", "RepeatVector", "Reshape",
           "UpSampling1D", "UpSampling2D", "ZeroPadding1D", "ZeroPadding2D"]


def _check_positive_int(layer, name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{layer}: `{name}` must be a positive integer. Received: "
                         f"{name}={value!r}")


class Flatten(Layer):
    """(batch, d1, d2, ...) -> (batch, d1 * d2 * ...); ``data_format="channels_first"`` moves
    the channels last first, as Keras does."""

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        data_format = data_format or "channels_last"
        if data_format not in ("channels_last", "channels_first"):
            raise ValueError(f"Flatten: data_format must be 'channels_last' or "
                             f"'channels_first'. Received: data_format={data_format!r}")
        self.data_format = data_format

    def call(self, inputs):
        rank = len(inputs.shape)
        if self.data_format == "channels_first" and rank > 2:
            inputs = ops.transpose(inputs, (0, *range(2, rank), 1))
        if rank == 0:
            raise ValueError(f"Layer {self.name!r} (Flatten) needs an input with a batch "
                             "axis, got a scalar")
        return ops.reshape(inputs, (inputs.shape[0], math.prod(inputs.shape[1:])))

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        return (input_shape[0], None if any(d is None for d in rest) else math.prod(rest))

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


class Reshape(Layer):
    """Reshapes each sample to ``target_shape`` (one entry may be -1)."""

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        try:
            target_shape = tuple(int(d) for d in target_shape)
        except (TypeError, ValueError):
            raise ValueError(f"Reshape: target_shape must be a tuple of integers. Received: "
                             f"target_shape={target_shape!r}") from None
        if sum(d == -1 for d in target_shape) > 1 or any(d < -1 or d == 0
                                                         for d in target_shape):
            raise ValueError("Reshape: target_shape may hold one -1 and otherwise positive "
                             f"sizes. Received: target_shape={target_shape}")
        self.target_shape = target_shape

    def _resolve(self, input_shape):
        size = None if any(d is None for d in input_shape[1:]) else math.prod(input_shape[1:])
        known = math.prod(d for d in self.target_shape if d != -1)
        if -1 in self.target_shape:
            if size is None:
                return tuple(None if d == -1 else d for d in self.target_shape)
            if size % known:
                raise ValueError(f"Layer {self.name!r} (Reshape): cannot reshape an input of "
                                 f"shape {tuple(input_shape)} to {self.target_shape}")
            return tuple(size // known if d == -1 else d for d in self.target_shape)
        if size is not None and size != known:
            raise ValueError(f"Layer {self.name!r} (Reshape): the total size of the input "
                             f"{tuple(input_shape)} per sample ({size}) differs from that of "
                             f"target_shape {self.target_shape} ({known})")
        return self.target_shape

    def call(self, inputs):
        shape = self._resolve(tuple(inputs.shape))
        return ops.reshape(inputs, (inputs.shape[0],) + shape)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + self._resolve(tuple(input_shape))

    def get_config(self):
        return {**super().get_config(), "target_shape": self.target_shape}


class Permute(Layer):
    """Permutes the non-batch axes: ``dims`` is a permutation of 1..rank-1."""

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        self.dims = tuple(dims)
        if sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise ValueError("Invalid permutation argument `dims` for Permute Layer. The set "
                             "of indices in `dims` must be consecutive and start from 1. "
                             f"Received dims={self.dims}")

    def _check(self, shape):
        if len(shape) != len(self.dims) + 1:
            raise ValueError(f"Layer {self.name!r} (Permute) with dims={self.dims} expects "
                             f"inputs of rank {len(self.dims) + 1}, got shape {tuple(shape)}")

    def call(self, inputs):
        self._check(inputs.shape)
        return ops.transpose(inputs, (0,) + self.dims)

    def compute_output_shape(self, input_shape):
        self._check(input_shape)
        return (input_shape[0],) + tuple(input_shape[d] for d in self.dims)

    def get_config(self):
        return {**super().get_config(), "dims": self.dims}


class RepeatVector(Layer):
    """(batch, features) -> (batch, n, features)."""

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        _check_positive_int("RepeatVector", "n", n)
        self.n = n

    def _check(self, shape):
        if len(shape) != 2:
            raise ValueError(f"Layer {self.name!r} (RepeatVector) expects an input of rank 2 "
                             f"(batch, features), got shape {tuple(shape)}")

    def call(self, inputs):
        self._check(inputs.shape)
        return ops.repeat(ops.expand_dims(inputs, 1), self.n, axis=1)

    def compute_output_shape(self, input_shape):
        self._check(input_shape)
        return (input_shape[0], self.n, input_shape[1])

    def get_config(self):
        return {**super().get_config(), "n": self.n}


# --- spatial resizing: upsampling, zero padding, cropping ------------------------------------


def _pad(x, widths):
    """x zero-padded by ``widths`` ((before, after) per axis); the gradient is the slice."""
    xv = ops._array(x)
    inner = tuple(slice(b, b + n) for (b, _), n in zip(widths, xv.shape))
    y = ops._xp(xv).zeros(tuple(n + b + a for (b, a), n in zip(widths, xv.shape)), xv.dtype)
    y[inner] = xv
    return record(y, (x,), lambda g, needs: (g[inner],))


def _crop(x, crops):
    """x without ``crops`` ((before, after) per axis); the gradient is zero-padded back."""
    xv = ops._array(x)
    inner = tuple(slice(b, n - a) for (b, a), n in zip(crops, xv.shape))

    def backward(g, needs):
        gx = ops._xp(g).zeros(xv.shape, g.dtype)
        gx[inner] = g
        return (gx,)
    return record(xv[inner], (x,), backward)


def _repeat_nearest(x, factors, axes):
    """Each element of x repeated ``factors[i]`` times along ``axes[i]`` (nearest-neighbour
    upsampling) in one copy; the gradient sums each block."""
    xv = ops._array(x)
    expanded, blocked, summed = [], [], []
    for axis, n in enumerate(xv.shape):
        expanded.append(n)
        blocked.append(n)
        if axis in axes:
            f = factors[axes.index(axis)]
            expanded[-1:] = [n, 1]
            blocked[-1:] = [n, f]
            summed.append(len(blocked) - 1)
    xp = ops._xp(xv)
    y = xp.broadcast_to(xv.reshape(expanded), blocked).reshape(
        tuple(n * (factors[axes.index(a)] if a in axes else 1) for a, n in enumerate(xv.shape)))
    return record(y, (x,), lambda g, needs: (g.reshape(blocked).sum(axis=tuple(summed)),))


def _bilinear_matrix(size, factor, dtype):
    """(size * factor, size) weights of PyTorch's bilinear upsampling (align_corners=False,
    which Keras 3's image.resize uses): source (i + 0.5) / factor - 0.5, clamped at 0, between
    its two neighbours (the last clamped to the edge)."""
    out = size * factor
    src = np.maximum((np.arange(out) + 0.5) / factor - 0.5, 0.0)
    lo = np.minimum(np.floor(src).astype(np.int64), size - 1)
    hi = np.minimum(lo + 1, size - 1)
    frac = src - lo
    m = np.zeros((out, size))
    np.add.at(m, (np.arange(out), lo), 1 - frac)
    np.add.at(m, (np.arange(out), hi), frac)
    return m.astype(dtype)


def _upsample_bilinear(x, factors, channels_first):
    """Bilinear upsampling of the two spatial axes: y = A_h x A_w^T per image and channel,
    as two batched matrix products (BLAS); the gradient multiplies by the transposes."""
    xv = ops._array(x)
    xp = ops._xp(xv)
    if channels_first:
        n, c, h, w = xv.shape
    else:
        n, h, w, c = xv.shape
    ah = xp.asarray(_bilinear_matrix(h, factors[0], xv.dtype))
    aw = xp.asarray(_bilinear_matrix(w, factors[1], xv.dtype))
    H, W = ah.shape[0], aw.shape[0]
    if channels_first:  # (n c, h, w): rows by A_h on the left, columns by A_w^T on the right
        y = (ah @ xv.reshape(n * c, h, w)) @ aw.T
        out = y.reshape(n, c, H, W)

        def backward(g, needs):
            return ((ah.T @ g.reshape(n * c, H, W) @ aw).reshape(xv.shape),)
    else:  # rows: A_h (H, h) @ (n, h, w c); columns: A_w (W, w) @ (n H, w, c)
        rows = ah @ xv.reshape(n, h, w * c)
        out = (aw @ rows.reshape(n * H, w, c)).reshape(n, H, W, c)

        def backward(g, needs):
            cols = aw.T @ g.reshape(n * H, W, c)
            return ((ah.T @ cols.reshape(n, H, w * c)).reshape(xv.shape),)
    return record(out, (x,), backward)


def _pair_of_pairs(value, name, what):
    """Keras' ZeroPadding2D / Cropping2D argument: an int, 2 ints, or 2 pairs of ints."""
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"`{name}` cannot be negative. Received: {name}={value}.")
        return ((value, value), (value, value))
    if hasattr(value, "__len__"):
        if len(value) != 2:
            raise ValueError(f"`{name}` should have two elements. Received: {name}={value}.")
        return (standardize_tuple(value[0], 2, f"1st entry of {name}", allow_zero=True),
                standardize_tuple(value[1], 2, f"2nd entry of {name}", allow_zero=True))
    raise ValueError(f"`{name}` should be either an int, a tuple of 2 ints "
                     f"(symmetric_height_{what}, symmetric_width_{what}), or a tuple of 2 "
                     f"tuples of 2 ints ((top_{what}, bottom_{what}), (left_{what}, "
                     f"right_{what})). Received: {name}={value}.")


class UpSampling2D(Layer):
    """Repeats rows and columns ``size`` times (``interpolation='nearest'``) or interpolates
    them bilinearly as Keras 3 does (``'bilinear'``)."""

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format)
        self.size = standardize_tuple(size, 2, "size")
        self.interpolation = interpolation.lower()
        if self.interpolation not in ("nearest", "bilinear"):
            raise ValueError("UpSampling2D: `interpolation` must be 'nearest' or 'bilinear'. "
                             f"Received: interpolation={interpolation}")

    def call(self, inputs):
        check_rank(self, ops.shape(inputs), 4)
        inputs = autocast(self, inputs)
        if self.interpolation == "nearest":
            return _repeat_nearest(inputs, self.size, spatial_axes(self.data_format, 4))
        return _upsample_bilinear(inputs, self.size, self.data_format == "channels_first")

    def compute_output_shape(self, input_shape):
        check_rank(self, input_shape, 4)
        shape = list(input_shape)
        for axis, f in zip(spatial_axes(self.data_format, 4), self.size):
            shape[axis] = None if shape[axis] is None else shape[axis] * f
        return tuple(shape)

    def get_config(self):
        return {**super().get_config(), "size": self.size, "data_format": self.data_format,
                "interpolation": self.interpolation}


class UpSampling1D(Layer):
    """Repeats each step ``size`` times: (batch, steps, features) -> (batch, steps * size,
    features)."""

    def __init__(self, size=2, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(size, int) or isinstance(size, bool):
            raise TypeError(f"Expected an integer value for `size`, got {type(size)}.")
        if size <= 0:
            raise ValueError(f"Argument `size` should be a positive integer. Received: size={size}")
        self.size = size

    def call(self, inputs):
        check_rank(self, ops.shape(inputs), 3)
        return _repeat_nearest(autocast(self, inputs), (self.size,), (1,))

    def compute_output_shape(self, input_shape):
        check_rank(self, input_shape, 3)
        steps = None if input_shape[1] is None else input_shape[1] * self.size
        return (input_shape[0], steps, input_shape[2])

    def get_config(self):
        return {**super().get_config(), "size": self.size}


class ZeroPadding2D(Layer):
    """Adds rows and columns of zeros: ``padding`` an int, (rows, columns) or ((top, bottom),
    (left, right))."""

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format)
        self.padding = _pair_of_pairs(padding, "padding", "pad")

    def _widths(self):
        spatial = list(self.padding)
        return [(0, 0), (0, 0)] + spatial if self.data_format == "channels_first" else \
            [(0, 0)] + spatial + [(0, 0)]

    def call(self, inputs):
        check_rank(self, ops.shape(inputs), 4)
        return _pad(autocast(self, inputs), self._widths())

    def compute_output_shape(self, input_shape):
        check_rank(self, input_shape, 4)
        return tuple(None if n is None else n + b + a
                     for n, (b, a) in zip(input_shape, self._widths()))

    def get_config(self):
        return {**super().get_config(), "padding": self.padding, "data_format": self.data_format}


class ZeroPadding1D(Layer):
    """Adds zero steps at the start and end: ``padding`` an int or (start, end)."""

    def __init__(self, padding=1, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format)
        self.padding = standardize_tuple(padding, 2, "padding", allow_zero=True)

    def _widths(self):
        return [(0, 0), (0, 0), self.padding] if self.data_format == "channels_first" else \
            [(0, 0), self.padding, (0, 0)]

    def call(self, inputs):
        check_rank(self, ops.shape(inputs), 3)
        return _pad(autocast(self, inputs), self._widths())

    def compute_output_shape(self, input_shape):
        check_rank(self, input_shape, 3)
        return tuple(None if n is None else n + b + a
                     for n, (b, a) in zip(input_shape, self._widths()))

    def get_config(self):
        return {**super().get_config(), "padding": self.padding, "data_format": self.data_format}


class Cropping2D(Layer):
    """Removes rows and columns at the edges: ``cropping`` an int, (rows, columns) or
    ((top, bottom), (left, right))."""

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format)
        self.cropping = _pair_of_pairs(cropping, "cropping", "crop")

    def _crops(self, shape, what):
        axes = spatial_axes(self.data_format, 4)
        if any(shape[a] is not None and sum(c) >= shape[a] for a, c in zip(axes, self.cropping)):
            raise ValueError("Values in `cropping` argument should be smaller than the "
                             "corresponding spatial dimension of the input. Received: "
                             f"{what}={tuple(shape)}, cropping={self.cropping}")
        crops = [(0, 0)] * 4
        for a, c in zip(axes, self.cropping):
            crops[a] = c
        return crops

    def call(self, inputs):
        check_rank(self, ops.shape(inputs), 4)
        return _crop(autocast(self, inputs), self._crops(ops.shape(inputs), "inputs.shape"))

    def compute_output_shape(self, input_shape):
        check_rank(self, input_shape, 4)
        return tuple(None if n is None else n - b - a
                     for n, (b, a) in zip(input_shape, self._crops(input_shape, "input_shape")))

    def get_config(self):
        return {**super().get_config(), "cropping": self.cropping, "data_format": self.data_format}


class Cropping1D(Layer):
    """Removes steps at the start and end: ``cropping`` an int or (start, end)."""

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(**kwargs)
        self.cropping = standardize_tuple(cropping, 2, "cropping", allow_zero=True)

    def _check(self, shape, what):
        if shape[1] is not None and sum(self.cropping) >= shape[1]:
            raise ValueError("`cropping` parameter of `Cropping1D` layer must be smaller than "
                             f"the input length. Received: {what}={tuple(shape)}, "
                             f"cropping={self.cropping}")

    def call(self, inputs):
        check_rank(self, ops.shape(inputs), 3)
        self._check(ops.shape(inputs), "inputs.shape")
        return _crop(autocast(self, inputs), [(0, 0), self.cropping, (0, 0)])

    def compute_output_shape(self, input_shape):
        check_rank(self, input_shape, 3)
        self._check(input_shape, "input_shape")
        steps = None if input_shape[1] is None else input_shape[1] - sum(self.cropping)
        return (input_shape[0], steps, input_shape[2])

    def get_config(self):
        return {**super().get_config(), "cropping": self.cropping}
