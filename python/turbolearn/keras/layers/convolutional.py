"""The convolution layers: Conv1D, Conv2D, their transposes, DepthwiseConv1D/2D and
SeparableConv1D/2D, with Keras 3's arguments, defaults, weights, errors and configs.

Each layer is one fused conv2d-family op per direction (``keras._nn.conv`` /
``conv_transpose``: the bias and the activation fused when the dense epilogue fuses the
activation); SeparableConv is two, the depthwise then the pointwise convolution. 1-D layers
are 1 x W convolutions; channels_first inputs are transposed to channels_last around the op.
"""
from .. import _nn, activations, constraints, initializers, regularizers
from ..saving import serialize_keras_object
from .layer import Layer

__all__ = ["Conv1D", "Conv1DTranspose", "Conv2D", "Conv2DTranspose", "Convolution1D",
           "Convolution1DTranspose", "Convolution2D", "Convolution2DTranspose",
           "DepthwiseConv1D", "DepthwiseConv2D", "SeparableConv1D", "SeparableConv2D",
           "SeparableConvolution1D", "SeparableConvolution2D"]


def conv_output_shape(input_shape, filters, kernel_size, strides, padding, data_format,
                      dilation_rate):
    """Keras' compute_conv_output_shape: unknown sizes stay None; 'valid' sizes below one
    raise ValueError."""
    spatial = input_shape[1:-1] if data_format == "channels_last" else input_shape[2:]
    out = []
    for n, k, s, d in zip(spatial, kernel_size, strides, dilation_rate):
        if n is None:
            out.append(None)
        elif padding == "valid":
            size = (n - d * (k - 1) - 1) // s + 1
            if size <= 0:
                raise ValueError(
                    f"Computed output size would be zero or negative. Received `inputs "
                    f"shape={tuple(input_shape)}`, `kernel shape={tuple(kernel_size)}`, "
                    f"`dilation_rate={dilation_rate}`, `strides={strides}`, "
                    f"`padding={padding}`.")
            out.append(size)
        else:
            out.append((n - 1) // s + 1)
    if data_format == "channels_last":
        return (input_shape[0],) + tuple(out) + (filters,)
    return (input_shape[0], filters) + tuple(out)


def conv_transpose_output_shape(input_shape, filters, kernel_size, strides, padding,
                                output_padding, data_format, dilation_rate):
    """Keras' compute_conv_transpose_output_shape (unknown sizes stay None)."""
    spatial = input_shape[1:-1] if data_format == "channels_last" else input_shape[2:]
    pads = output_padding or (None,) * len(spatial)
    out = tuple(None if n is None else
                _nn.conv_transpose_paddings((n,), (k,), (s,), (d,), padding, (p,))[0][0]
                for n, k, s, d, p in zip(spatial, kernel_size, strides, dilation_rate, pads))
    if data_format == "channels_last":
        return (input_shape[0],) + out + (filters,)
    return (input_shape[0], filters) + out


class _Conv(Layer):
    """What every convolution layer shares: Keras' argument checks, the input checks, the
    activation fusion and the config helpers."""

    _SERIALIZED = ("kernel_initializer", "bias_initializer", "kernel_regularizer",
                   "bias_regularizer", "activity_regularizer", "kernel_constraint",
                   "bias_constraint")

    def __init__(self, rank, kernel_size, strides, padding, data_format, dilation_rate,
                 activation, use_bias, allow_causal=False, **kwargs):
        super().__init__(**kwargs)
        self.rank = rank
        self.kernel_size = _nn.standardize_tuple(kernel_size, rank, "kernel_size")
        self.strides = _nn.standardize_tuple(strides, rank, "strides")
        self.dilation_rate = _nn.standardize_tuple(dilation_rate, rank, "dilation_rate")
        self.padding = _nn.standardize_padding(padding, allow_causal=allow_causal)
        self.data_format = _nn.standardize_data_format(data_format)
        self.activation = activations.get(activation)
        self._fused = (None, None)
        self.use_bias = use_bias
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(f"`strides > 1` not supported in conjunction with `dilation_rate "
                             f"> 1`. Received: strides={self.strides} and "
                             f"dilation_rate={self.dilation_rate}")

    def _channels(self, input_shape):
        return input_shape[-1] if self.data_format == "channels_last" else input_shape[1]

    def _check_input(self, inputs, channels):
        shape = tuple(inputs.shape)
        if len(shape) != self.rank + 2:
            raise ValueError(f"Input 0 of layer {self.name!r} is incompatible with the layer: "
                             f"expected ndim={self.rank + 2}, found ndim={len(shape)}. Full "
                             f"shape received: {shape}")
        axis = -1 if self.data_format == "channels_last" else 1
        if shape[axis] != channels:
            raise ValueError(f"Input 0 of layer {self.name!r} is incompatible with the layer: "
                             f"expected axis {axis} of input shape to have value {channels}, "
                             f"but received input with shape {shape}")

    def _fused_activation(self):
        """The epilogue's name for the activation, or None (then applied after the op)."""
        if self._fused[0] is not self.activation:  # the activation may be reassigned
            self._fused = (self.activation, activations.fused_name(self.activation))
        return self._fused[1]

    def _finish(self, compute):
        """compute(fused activation name) -> output, with the activation applied after it
        when the epilogue cannot fuse it."""
        fused = self._fused_activation()
        out = compute(fused or "linear")
        return out if fused is not None else self.activation(out)

    def _weight(self, name, shape, initializer, regularizer, constraint):
        return self.add_weight(shape=shape, name=name, initializer=initializer,
                               regularizer=regularizer, constraint=constraint)

    def _config(self, **extra):
        config = super().get_config()
        if self.activity_regularizer is not None:  # Keras' base Layer puts it first when set
            config["activity_regularizer"] = None
        config.update(extra)
        for key in self._SERIALIZED:
            config[key] = serialize_keras_object(getattr(self, key))
        return config

    @classmethod
    def from_config(cls, config):
        from ..saving import deserialize_keras_object
        config = dict(config)
        for key in cls._SERIALIZED:
            if isinstance(config.get(key), dict):
                config[key] = deserialize_keras_object(config[key])
        if config.get("activation") is not None:
            config["activation"] = activations.deserialize(config["activation"])
        return cls(**config)


class BaseConv(_Conv):
    """A convolution of rank 1 or 2 (Keras' BaseConv): kernel (*kernel_size, in_channels //
    groups, filters), bias (filters,)."""

    def __init__(self, rank, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, groups=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(rank, kernel_size, strides, padding, data_format, dilation_rate,
                         activation, use_bias, allow_causal=rank == 1,
                         activity_regularizer=activity_regularizer, **kwargs)
        self.filters = filters
        self.groups = groups
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        if filters is not None and filters <= 0:
            raise ValueError(f"Invalid value for argument `filters`. Expected a strictly "
                             f"positive value. Received filters={filters}.")
        if groups <= 0:
            raise ValueError(f"The number of groups must be a positive integer. Received: "
                             f"groups={groups}.")
        if filters is not None and filters % groups != 0:
            raise ValueError(f"The number of filters must be evenly divisible by the number "
                             f"of groups. Received: groups={groups}, filters={filters}.")

    def build(self, input_shape):
        channels = self._channels(input_shape)
        if channels % self.groups != 0:
            raise ValueError(f"The number of input channels must be evenly divisible by the "
                             f"number of groups. Received groups={self.groups}, but the input "
                             f"has {channels} channels (full input shape is "
                             f"{tuple(input_shape)}).")
        self.compute_output_shape(input_shape)  # validates the output size
        self.kernel = self._weight("kernel", self.kernel_size + (channels // self.groups,
                                                                 self.filters),
                                   self.kernel_initializer, self.kernel_regularizer,
                                   self.kernel_constraint)
        self.bias = (self._weight("bias", (self.filters,), self.bias_initializer,
                                  self.bias_regularizer, self.bias_constraint)
                     if self.use_bias else None)
        self.built = True

    def call(self, inputs):
        self._check_input(inputs, self.kernel.shape[-2] * self.groups)
        return self._finish(lambda act: _nn.convolution(
            inputs, self.kernel, self.bias, self.strides, self.padding, self.data_format,
            self.dilation_rate, act))

    def compute_output_shape(self, input_shape):
        return conv_output_shape(tuple(input_shape), self.filters, self.kernel_size,
                                 self.strides, self.padding, self.data_format,
                                 self.dilation_rate)

    def get_config(self):
        return self._config(filters=self.filters, kernel_size=self.kernel_size,
                            strides=self.strides, padding=self.padding,
                            data_format=self.data_format, dilation_rate=self.dilation_rate,
                            groups=self.groups,
                            activation=activations.serialize(self.activation),
                            use_bias=self.use_bias)


class Conv1D(BaseConv):
    """1-D convolution over (batch, steps, channels); ``padding="causal"`` pads only the past
    (WaveNet's dilated causal convolutions)."""

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, groups=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(1, filters, kernel_size, strides, padding, data_format, dilation_rate,
                         groups, activation, use_bias, kernel_initializer, bias_initializer,
                         kernel_regularizer, bias_regularizer, activity_regularizer,
                         kernel_constraint, bias_constraint, **kwargs)


class Conv2D(BaseConv):
    """2-D convolution over (batch, height, width, channels)."""

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), groups=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(2, filters, kernel_size, strides, padding, data_format, dilation_rate,
                         groups, activation, use_bias, kernel_initializer, bias_initializer,
                         kernel_regularizer, bias_regularizer, activity_regularizer,
                         kernel_constraint, bias_constraint, **kwargs)


class BaseConvTranspose(_Conv):
    """A transposed convolution of rank 1 or 2 (Keras' BaseConvTranspose): kernel
    (*kernel_size, filters, in_channels), bias (filters,)."""

    def __init__(self, rank, filters, kernel_size, strides=1, padding="valid",
                 output_padding=None, data_format=None, dilation_rate=1, activation=None,
                 use_bias=True, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(rank, kernel_size, strides, padding, data_format, dilation_rate,
                         activation, use_bias, activity_regularizer=activity_regularizer,
                         **kwargs)
        self.filters = filters
        self.output_padding = (None if output_padding is None else _nn.standardize_tuple(
            output_padding, rank, "output_padding", allow_zero=True))
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        if filters is not None and filters <= 0:
            raise ValueError(f"Invalid value for argument `filters`. Expected a strictly "
                             f"positive value. Received filters={filters}.")
        if self.output_padding is not None:
            for i, (op, s) in enumerate(zip(self.output_padding, self.strides)):
                if op >= s:
                    raise ValueError(
                        f"`output_padding` must be strictly less than `strides` for all "
                        f"dimensions. At dimension {i}, `output_padding` is {op} but "
                        f"`strides` is {s}. Received: output_padding={self.output_padding}, "
                        f"strides={self.strides}")

    def build(self, input_shape):
        channels = self._channels(input_shape)
        self.kernel = self._weight("kernel", self.kernel_size + (self.filters, channels),
                                   self.kernel_initializer, self.kernel_regularizer,
                                   self.kernel_constraint)
        self.bias = (self._weight("bias", (self.filters,), self.bias_initializer,
                                  self.bias_regularizer, self.bias_constraint)
                     if self.use_bias else None)
        self.built = True

    def call(self, inputs):
        self._check_input(inputs, self.kernel.shape[-1])
        return self._finish(lambda act: _nn.convolution_transpose(
            inputs, self.kernel, self.bias, self.strides, self.padding, self.output_padding,
            self.data_format, self.dilation_rate, act))

    def compute_output_shape(self, input_shape):
        return conv_transpose_output_shape(tuple(input_shape), self.filters, self.kernel_size,
                                           self.strides, self.padding, self.output_padding,
                                           self.data_format, self.dilation_rate)

    def get_config(self):
        return self._config(filters=self.filters, kernel_size=self.kernel_size,
                            strides=self.strides, padding=self.padding,
                            output_padding=self.output_padding, data_format=self.data_format,
                            dilation_rate=self.dilation_rate,
                            activation=activations.serialize(self.activation),
                            use_bias=self.use_bias)


class Conv1DTranspose(BaseConvTranspose):
    """1-D transposed convolution (deconvolution)."""

    def __init__(self, filters, kernel_size, strides=1, padding="valid", output_padding=None,
                 data_format=None, dilation_rate=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(1, filters, kernel_size, strides, padding, output_padding, data_format,
                         dilation_rate, activation, use_bias, kernel_initializer,
                         bias_initializer, kernel_regularizer, bias_regularizer,
                         activity_regularizer, kernel_constraint, bias_constraint, **kwargs)


class Conv2DTranspose(BaseConvTranspose):
    """2-D transposed convolution (deconvolution), the upsampling of autoencoders and GANs."""

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid",
                 output_padding=None, data_format=None, dilation_rate=(1, 1), activation=None,
                 use_bias=True, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(2, filters, kernel_size, strides, padding, output_padding, data_format,
                         dilation_rate, activation, use_bias, kernel_initializer,
                         bias_initializer, kernel_regularizer, bias_regularizer,
                         activity_regularizer, kernel_constraint, bias_constraint, **kwargs)


class BaseDepthwiseConv(_Conv):
    """A depthwise convolution of rank 1 or 2 (Keras' BaseDepthwiseConv): kernel
    (*kernel_size, in_channels, depth_multiplier), bias (in_channels * depth_multiplier,);
    output channel c * depth_multiplier + m is channel c through filter m."""

    _SERIALIZED = ("depthwise_initializer", "bias_initializer", "depthwise_regularizer",
                   "bias_regularizer", "activity_regularizer", "depthwise_constraint",
                   "bias_constraint")

    def __init__(self, rank, depth_multiplier, kernel_size, strides=1, padding="valid",
                 data_format=None, dilation_rate=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", bias_initializer="zeros",
                 depthwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(rank, kernel_size, strides, padding, data_format, dilation_rate,
                         activation, use_bias, activity_regularizer=activity_regularizer,
                         **kwargs)
        self.depth_multiplier = depth_multiplier
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.depthwise_constraint = constraints.get(depthwise_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        if depth_multiplier is not None and depth_multiplier <= 0:
            raise ValueError(f"Invalid value for argument `depth_multiplier`. Expected a "
                             f"strictly positive value. Received "
                             f"depth_multiplier={depth_multiplier}.")

    def build(self, input_shape):
        channels = self._channels(input_shape)
        self.compute_output_shape(input_shape)
        self.kernel = self._weight("kernel", self.kernel_size + (channels, self.depth_multiplier),
                                   self.depthwise_initializer, self.depthwise_regularizer,
                                   self.depthwise_constraint)
        self.bias = (self._weight("bias", (channels * self.depth_multiplier,),
                                  self.bias_initializer, self.bias_regularizer,
                                  self.bias_constraint)
                     if self.use_bias else None)
        self.built = True

    def call(self, inputs):
        self._check_input(inputs, self.kernel.shape[-2])
        return self._finish(lambda act: _nn.convolution(
            inputs, self.kernel, self.bias, self.strides, self.padding, self.data_format,
            self.dilation_rate, act, depthwise=True))

    def compute_output_shape(self, input_shape):
        return conv_output_shape(tuple(input_shape),
                                 self.depth_multiplier * self._channels(input_shape),
                                 self.kernel_size, self.strides, self.padding,
                                 self.data_format, self.dilation_rate)

    def get_config(self):
        return self._config(depth_multiplier=self.depth_multiplier,
                            kernel_size=self.kernel_size, strides=self.strides,
                            padding=self.padding, data_format=self.data_format,
                            dilation_rate=self.dilation_rate,
                            activation=activations.serialize(self.activation),
                            use_bias=self.use_bias)


class DepthwiseConv1D(BaseDepthwiseConv):
    """1-D depthwise convolution: each channel through its own depth_multiplier filters."""

    def __init__(self, kernel_size, strides=1, padding="valid", depth_multiplier=1,
                 data_format=None, dilation_rate=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", bias_initializer="zeros",
                 depthwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(1, depth_multiplier, kernel_size, strides, padding, data_format,
                         dilation_rate, activation, use_bias, depthwise_initializer,
                         bias_initializer, depthwise_regularizer, bias_regularizer,
                         activity_regularizer, depthwise_constraint, bias_constraint, **kwargs)


class DepthwiseConv2D(BaseDepthwiseConv):
    """2-D depthwise convolution: each channel through its own depth_multiplier filters."""

    def __init__(self, kernel_size, strides=(1, 1), padding="valid", depth_multiplier=1,
                 data_format=None, dilation_rate=(1, 1), activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", bias_initializer="zeros",
                 depthwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(2, depth_multiplier, kernel_size, strides, padding, data_format,
                         dilation_rate, activation, use_bias, depthwise_initializer,
                         bias_initializer, depthwise_regularizer, bias_regularizer,
                         activity_regularizer, depthwise_constraint, bias_constraint, **kwargs)


class BaseSeparableConv(_Conv):
    """A separable convolution of rank 1 or 2 (Keras' BaseSeparableConv): a depthwise
    convolution (depthwise_kernel (*kernel_size, in_channels, depth_multiplier)), then a
    pointwise one (pointwise_kernel (1, ..., in_channels * depth_multiplier, filters)) with
    the bias (filters,) and the activation fused."""

    _SERIALIZED = ("depthwise_initializer", "pointwise_initializer", "bias_initializer",
                   "depthwise_regularizer", "pointwise_regularizer", "bias_regularizer",
                   "activity_regularizer", "depthwise_constraint", "pointwise_constraint",
                   "bias_constraint")

    def __init__(self, rank, depth_multiplier, filters, kernel_size, strides=1, padding="valid",
                 data_format=None, dilation_rate=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", pointwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, pointwise_constraint=None, bias_constraint=None,
                 **kwargs):
        super().__init__(rank, kernel_size, strides, padding, data_format, dilation_rate,
                         activation, use_bias, activity_regularizer=activity_regularizer,
                         **kwargs)
        self.depth_multiplier = depth_multiplier
        self.filters = filters
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.pointwise_initializer = initializers.get(pointwise_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.pointwise_regularizer = regularizers.get(pointwise_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.depthwise_constraint = constraints.get(depthwise_constraint)
        self.pointwise_constraint = constraints.get(pointwise_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        if depth_multiplier is not None and depth_multiplier <= 0:
            raise ValueError(f"Invalid value for argument `depth_multiplier`. Expected a "
                             f"strictly positive value. Received "
                             f"depth_multiplier={depth_multiplier}.")
        if filters is not None and filters <= 0:
            raise ValueError(f"Invalid value for argument `filters`. Expected a strictly "
                             f"positive value. Received filters={filters}.")

    def build(self, input_shape):
        channels = self._channels(input_shape)
        self.compute_output_shape(input_shape)
        self.depthwise_kernel = self._weight(
            "depthwise_kernel", self.kernel_size + (channels, self.depth_multiplier),
            self.depthwise_initializer, self.depthwise_regularizer, self.depthwise_constraint)
        self.pointwise_kernel = self._weight(
            "pointwise_kernel", (1,) * self.rank + (channels * self.depth_multiplier,
                                                    self.filters),
            self.pointwise_initializer, self.pointwise_regularizer, self.pointwise_constraint)
        self.bias = (self._weight("bias", (self.filters,), self.bias_initializer,
                                  self.bias_regularizer, self.bias_constraint)
                     if self.use_bias else None)
        self.built = True

    def call(self, inputs):
        self._check_input(inputs, self.depthwise_kernel.shape[-2])
        x = _nn.to_channels_last(inputs, self.data_format)
        depthwise = _nn.convolution(x, self.depthwise_kernel, None, self.strides, self.padding,
                                    "channels_last", self.dilation_rate, depthwise=True)
        out = self._finish(lambda act: _nn.convolution(
            depthwise, self.pointwise_kernel, self.bias, 1, "valid", "channels_last", 1, act))
        return _nn.to_channels_first(out, self.data_format)

    def compute_output_shape(self, input_shape):
        return conv_output_shape(tuple(input_shape), self.filters, self.kernel_size,
                                 self.strides, self.padding, self.data_format,
                                 self.dilation_rate)

    def get_config(self):
        return self._config(depth_multiplier=self.depth_multiplier, filters=self.filters,
                            kernel_size=self.kernel_size, strides=self.strides,
                            padding=self.padding, data_format=self.data_format,
                            dilation_rate=self.dilation_rate,
                            activation=activations.serialize(self.activation),
                            use_bias=self.use_bias)


class SeparableConv1D(BaseSeparableConv):
    """1-D separable convolution: depthwise, then pointwise."""

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, depth_multiplier=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", pointwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, pointwise_constraint=None, bias_constraint=None,
                 **kwargs):
        super().__init__(1, depth_multiplier, filters, kernel_size, strides, padding,
                         data_format, dilation_rate, activation, use_bias,
                         depthwise_initializer, pointwise_initializer, bias_initializer,
                         depthwise_regularizer, pointwise_regularizer, bias_regularizer,
                         activity_regularizer, depthwise_constraint, pointwise_constraint,
                         bias_constraint, **kwargs)


class SeparableConv2D(BaseSeparableConv):
    """2-D separable convolution: depthwise, then pointwise."""

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), depth_multiplier=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", pointwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, pointwise_constraint=None, bias_constraint=None,
                 **kwargs):
        super().__init__(2, depth_multiplier, filters, kernel_size, strides, padding,
                         data_format, dilation_rate, activation, use_bias,
                         depthwise_initializer, pointwise_initializer, bias_initializer,
                         depthwise_regularizer, pointwise_regularizer, bias_regularizer,
                         activity_regularizer, depthwise_constraint, pointwise_constraint,
                         bias_constraint, **kwargs)


Convolution1D = Conv1D
Convolution2D = Conv2D
Convolution1DTranspose = Conv1DTranspose
Convolution2DTranspose = Conv2DTranspose
SeparableConvolution1D = SeparableConv1D
SeparableConvolution2D = SeparableConv2D
