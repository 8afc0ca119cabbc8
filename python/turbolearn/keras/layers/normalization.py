"""BatchNormalization and LayerNormalization, each one recorded op with its own backward.

Both normalize ``xhat = (x - mean) / sqrt(var + epsilon)`` and return ``gamma * xhat + beta``.
The backward is the closed form (one pass over the data): with ``gh = g * gamma`` and means
over the normalized axes, ``dx = (gh - mean(gh) - xhat * mean(gh * xhat)) / sqrt(var + eps)``
when the statistics come from x itself (BatchNormalization training, LayerNormalization),
``dx = gh / sqrt(var + eps)`` when they are constants (moving statistics);
``dgamma = sum(g * xhat)`` and ``dbeta = sum(g)`` over the other axes.
"""
import numpy as np

from .. import constraints, initializers, regularizers
from .._tensor import record, value_of
from ..saving import serialize_keras_object
from .layer import Layer

__all__ = ["BatchNormalization", "LayerNormalization"]


def _float_input(inputs, dtype):
    """The input array in the layer's float dtype (Keras casts inputs to the compute dtype)."""
    v = value_of(inputs)
    if v.dtype != dtype:
        from .. import ops
        inputs = ops.cast(inputs, dtype)
        v = value_of(inputs)
    return inputs, v


def _normalize(x, xv, mean, var, epsilon, gamma, beta, bshape, stat_axes, param_axes,
               batch_stats, weights=None):
    """Records y = gamma * (x - mean) / sqrt(var + eps) + beta with its closed-form backward.

    ``stat_axes``: the axes the statistics were reduced over (mean, var keep them as size 1);
    ``param_axes``: the axes gamma/beta are summed over for their gradient; ``batch_stats``:
    whether mean and var are functions of x; ``weights``: None, or ``(w, total)`` when they
    are weighted moments (``mean = sum(w x) / total``, ``var = sum(w (x - mean)^2) / total``:
    a mask), every element being normalized with them."""
    dtype = xv.dtype
    inv = (1.0 / np.sqrt(var + dtype.type(epsilon))).astype(dtype)
    xhat = (xv - mean) * inv
    g_arr = None if gamma is None else gamma.value.reshape(bshape)
    y = xhat if g_arr is None else xhat * g_arr
    if beta is not None:
        y = y + beta.value.reshape(bshape)
    parents = [x]
    if gamma is not None:
        parents.append(gamma)
    if beta is not None:
        parents.append(beta)

    def backward(g, needs):
        g = g.astype(dtype, copy=False)
        out = []
        if needs[0]:
            gh = g if g_arr is None else g * g_arr
            if batch_stats and weights is not None:
                w, total = weights
                d = xv - mean
                dvar = -0.5 * inv ** 3 * (gh * d).sum(axis=stat_axes, keepdims=True)
                dmean = (-inv * gh.sum(axis=stat_axes, keepdims=True)
                         - 2 * dvar * (w * d).sum(axis=stat_axes, keepdims=True) / total)
                dx = gh * inv + w * (dmean + 2 * dvar * d) / total
            elif batch_stats:
                dx = (gh - gh.mean(axis=stat_axes, keepdims=True)
                      - xhat * (gh * xhat).mean(axis=stat_axes, keepdims=True)) * inv
            else:
                dx = gh * inv
            out.append(dx)
        else:
            out.append(None)
        k = 1
        if gamma is not None:
            out.append((g * xhat).sum(axis=param_axes).reshape(gamma.shape)
                       if needs[k] else None)
            k += 1
        if beta is not None:
            out.append(g.sum(axis=param_axes).reshape(beta.shape) if needs[k] else None)
        return tuple(out)
    return record(y, tuple(parents), backward)


def _config_objects(layer, names):
    return {name: serialize_keras_object(getattr(layer, name)) for name in names}


def _objects_from_config(config):
    config = dict(config)
    for key, getter in (("initializer", initializers.get), ("regularizer", regularizers.get),
                        ("constraint", constraints.get)):
        for name in [k for k in config if k.endswith("_" + key)]:
            config[name] = getter(config[name])
    return config


class BatchNormalization(Layer):
    """Normalizes each feature (``axis``) over the batch (and the other axes).

    ``training=True`` (and a trainable layer): batch mean and (biased) variance, and the
    moving statistics move toward them: ``moving = moving * momentum + batch * (1 -
    momentum)``. Otherwise the moving statistics are used. A frozen layer
    (``trainable=False``) always runs in inference mode, as in Keras 3.
    """

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones",
                 moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, renorm=False, renorm_clipping=None,
                 renorm_momentum=0.99, synchronized=False, **kwargs):
        super().__init__(**kwargs)
        if renorm:
            raise NotImplementedError("BatchNormalization(renorm=True) is not supported")
        if synchronized:
            raise ValueError("Argument synchronized=True is only supported with the "
                             "TensorFlow backend.")
        if isinstance(axis, (list, tuple)):
            if len(axis) != 1:
                raise ValueError("BatchNormalization normalizes one axis; received "
                                 f"axis={axis!r}")
            axis = axis[0]
        self.axis = int(axis)
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        if not 0 <= self.momentum <= 1:
            raise ValueError(f"BatchNormalization: momentum must be in [0, 1], got {momentum}")
        if not self.epsilon > 0:
            raise ValueError(f"BatchNormalization: epsilon must be positive, got {epsilon}")
        self.center = center
        self.scale = scale
        self.synchronized = synchronized
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.supports_masking = True
        self.gamma = self.beta = self.moving_mean = self.moving_variance = None

    def _axis(self, rank):
        if not -rank <= self.axis < rank:
            raise ValueError(f"Layer {self.name!r}: axis {self.axis} is out of bounds for an "
                             f"input of rank {rank}")
        return self.axis % rank

    def build(self, input_shape):
        axis = self._axis(len(input_shape))
        dim = input_shape[axis]
        if dim is None:
            raise ValueError(f"Layer {self.name!r} (BatchNormalization): axis {self.axis} of "
                             f"the input shape {tuple(input_shape)} must be known")
        shape = (dim,)
        if self.scale:
            self.gamma = self.add_weight(shape=shape, name="gamma",
                                         initializer=self.gamma_initializer,
                                         regularizer=self.gamma_regularizer,
                                         constraint=self.gamma_constraint)
        if self.center:
            self.beta = self.add_weight(shape=shape, name="beta",
                                        initializer=self.beta_initializer,
                                        regularizer=self.beta_regularizer,
                                        constraint=self.beta_constraint)
        self.moving_mean = self.add_weight(shape=shape, name="moving_mean",
                                           initializer=self.moving_mean_initializer,
                                           trainable=False)
        self.moving_variance = self.add_weight(shape=shape, name="moving_variance",
                                               initializer=self.moving_variance_initializer,
                                               trainable=False)
        self.built = True

    def call(self, inputs, training=None, mask=None):
        x, xv = _float_input(inputs, self.moving_mean.value.dtype)
        rank = xv.ndim
        if mask is not None and np.ndim(mask) != rank - 1:
            raise ValueError("The mask provided should be one dimension less than the inputs. "
                             f"Received: mask.shape={np.shape(mask)}, inputs.shape={xv.shape}")
        axis = self._axis(rank)
        dim = self.moving_mean.shape[0]
        if xv.shape[axis] != dim:
            raise ValueError(f"Input 0 of layer {self.name!r} is incompatible with the layer: "
                             f"expected axis {self.axis} of input shape to have value {dim}, "
                             f"but received input with shape {tuple(xv.shape)}")
        bshape = [1] * rank
        bshape[axis] = dim
        reduce = tuple(i for i in range(rank) if i != axis)
        batch_stats = bool(training) and self.trainable
        if batch_stats:
            if xv.size == 0:
                raise ValueError(f"Layer {self.name!r}: cannot compute batch statistics of an "
                                 "empty batch")
            if mask is None:
                weights = None
                mean = xv.mean(axis=reduce, keepdims=True)
                var = np.square(xv - mean).mean(axis=reduce, keepdims=True)
            else:  # Keras' masked moments: masked elements do not count (epsilon as Keras')
                w = np.broadcast_to(np.expand_dims(np.asarray(value_of(mask)), -1),
                                    xv.shape).astype(xv.dtype)
                total = w.sum(axis=reduce, keepdims=True) + xv.dtype.type(1e-7)
                weights = (w, total)
                mean = (w * xv).sum(axis=reduce, keepdims=True) / total
                var = (w * np.square(xv - mean)).sum(axis=reduce, keepdims=True) / total
            m = self.momentum
            self.moving_mean.assign(self.moving_mean.value * m + mean.reshape(dim) * (1 - m))
            self.moving_variance.assign(self.moving_variance.value * m
                                        + var.reshape(dim) * (1 - m))
        else:
            weights = None
            mean = self.moving_mean.value.reshape(bshape)
            var = self.moving_variance.value.reshape(bshape)
        return _normalize(x, xv, mean, var, self.epsilon, self.gamma, self.beta, bshape,
                          reduce, reduce, batch_stats, weights)

    def compute_output_shape(self, input_shape):
        self._axis(len(input_shape))
        return input_shape

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "momentum": self.momentum,
                "epsilon": self.epsilon, "center": self.center, "scale": self.scale,
                **_config_objects(self, (
                    "beta_initializer", "gamma_initializer", "moving_mean_initializer",
                    "moving_variance_initializer", "beta_regularizer", "gamma_regularizer",
                    "beta_constraint", "gamma_constraint")),
                "synchronized": self.synchronized, "renorm": False, "renorm_clipping": None,
                "renorm_momentum": 0.99}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if not config.pop("renorm", False):
            config.pop("renorm_clipping", None)
            config.pop("renorm_momentum", None)
        else:
            config["renorm"] = True
        return cls(**_objects_from_config(config))


class LayerNormalization(Layer):
    """Normalizes each sample over ``axis`` (an int or a list of axes; the last by default)
    with its own mean and variance, then scales by gamma and shifts by beta (shaped like the
    normalized axes)."""

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                 **kwargs):
        if kwargs.pop("rms_scaling", False):
            raise NotImplementedError("LayerNormalization(rms_scaling=True) is deprecated in "
                                      "Keras and not supported")
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)):
            self.axis = [int(a) for a in axis]
        elif isinstance(axis, int) and not isinstance(axis, bool):
            self.axis = axis
        else:
            raise TypeError("Expected an int or a list/tuple of ints for the argument 'axis', "
                            f"but received: {axis!r}")
        if not epsilon > 0:
            raise ValueError(f"LayerNormalization: epsilon must be positive, got {epsilon}")
        self.epsilon = epsilon
        self.center = center
        self.scale = scale
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.supports_masking = True
        self.gamma = self.beta = None

    def _axes(self, rank):
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        for a in axes:
            if not -rank <= a < rank:
                raise ValueError(f"Layer {self.name!r}: axis {a} is out of bounds for an "
                                 f"input of rank {rank}. Received: axis={self.axis}")
        axes = sorted(a % rank for a in axes)
        if len(set(axes)) != len(axes):
            raise ValueError(f"Layer {self.name!r}: duplicate axes in axis={self.axis}")
        return axes

    def build(self, input_shape):
        axes = self._axes(len(input_shape))
        shape = tuple(input_shape[a] for a in axes)
        if any(d is None for d in shape):
            raise ValueError(f"Layer {self.name!r} (LayerNormalization): the normalized axes "
                             f"of input shape {tuple(input_shape)} must be known")
        if self.scale:
            self.gamma = self.add_weight(shape=shape, name="gamma",
                                         initializer=self.gamma_initializer,
                                         regularizer=self.gamma_regularizer,
                                         constraint=self.gamma_constraint)
        if self.center:
            self.beta = self.add_weight(shape=shape, name="beta",
                                        initializer=self.beta_initializer,
                                        regularizer=self.beta_regularizer,
                                        constraint=self.beta_constraint)
        self._param_shape = shape
        self.built = True

    def call(self, inputs):
        x, xv = _float_input(inputs, np.dtype(self.dtype))
        rank = xv.ndim
        axes = self._axes(rank)
        got = tuple(xv.shape[a] for a in axes)
        if got != self._param_shape:
            raise ValueError(f"Input 0 of layer {self.name!r} is incompatible with the layer: "
                             f"expected sizes {self._param_shape} on axes {axes}, but "
                             f"received input with shape {tuple(xv.shape)}")
        bshape = [1] * rank
        for a in axes:
            bshape[a] = xv.shape[a]
        stat_axes = tuple(axes)
        other = tuple(i for i in range(rank) if i not in axes)
        mean = xv.mean(axis=stat_axes, keepdims=True)
        var = np.square(xv - mean).mean(axis=stat_axes, keepdims=True)
        return _normalize(x, xv, mean, var, self.epsilon, self.gamma, self.beta, bshape,
                          stat_axes, other, True)

    def compute_output_shape(self, input_shape):
        self._axes(len(input_shape))
        return input_shape

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale, "rms_scaling": False,
                **_config_objects(self, ("beta_initializer", "gamma_initializer",
                                         "beta_regularizer", "gamma_regularizer",
                                         "beta_constraint", "gamma_constraint"))}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config.pop("rms_scaling", None)
        return cls(**_objects_from_config(config))
