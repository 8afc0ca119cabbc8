"""``keras.ops``: array ops that record their gradient on an active GradientTape.

Each op computes on the arrays behind its inputs (NumPy on the CPU, CuPy on a GPU) and returns
a Tensor; its backward function maps the output gradient to the inputs' gradients, reduced
back over broadcast axes. Python numbers and NumPy arrays are accepted wherever a tensor is.
"""
import numpy as np

from .._ops._backend import array_namespace
from ._tensor import Tensor, Variable, floatx, record, stop_gradient, value_of

__all__ = [
    "abs", "absolute", "add", "all", "any", "arange", "argmax", "argmin", "broadcast_to",
    "cast", "clip", "concatenate", "convert_to_numpy", "convert_to_tensor", "cos", "cumsum",
    "divide", "dot", "elu", "equal", "erf", "exp", "expand_dims", "flip", "full", "gelu",
    "greater", "greater_equal", "hard_sigmoid", "hard_silu", "leaky_relu", "less",
    "less_equal", "log", "log1p", "log_sigmoid", "log_softmax", "logical_and",
    "logical_not", "logical_or", "logsumexp", "matmul", "max", "maximum", "mean", "min",
    "minimum", "multiply", "negative", "norm", "not_equal", "one_hot", "ones", "ones_like",
    "power", "prod", "relu", "relu6", "repeat", "reshape", "round", "selu", "shape",
    "sigmoid", "sign", "silu", "sin", "softmax", "softplus", "softsign", "split", "sqrt",
    "square", "squeeze", "stack", "std", "stop_gradient", "subtract", "sum", "swish",
    "take", "tanh", "tile", "top_k", "transpose", "true_divide", "var", "where", "zeros",
    "zeros_like",
]

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _xp(*values):
    for v in values:
        if hasattr(v, "__cuda_array_interface__"):
            return array_namespace(v)
    return np


def _array(x, dtype=None):
    """The array behind x; Python numbers and lists become arrays of floatx (or dtype)."""
    v = value_of(x)
    if isinstance(v, (np.ndarray, np.generic)) or hasattr(v, "__cuda_array_interface__"):
        return v if dtype is None else v.astype(dtype, copy=False)
    if type(v).__name__ == "KerasTensor":
        raise TypeError("keras.ops functions compute on values, not on symbolic KerasTensors: "
                        "in a functional model use the layer form (keras.layers.Concatenate, "
                        "keras.layers.Add, ...) or wrap the computation in keras.layers.Lambda")
    if isinstance(v, (bool, int, float)) and dtype is None:
        return v  # a weak scalar: the other operand's dtype wins
    arr = np.asarray(v)
    if dtype is None and arr.dtype == np.float64 and not isinstance(v, np.ndarray):
        dtype = floatx()
    return arr if dtype is None else arr.astype(dtype, copy=False)


def _unbroadcast(g, shape):
    """Sums g over the axes along which an operand of ``shape`` was broadcast."""
    shape = tuple(shape)
    if tuple(g.shape) == shape:
        return g
    extra = g.ndim - len(shape)
    if extra:
        g = g.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g.reshape(shape)


def _shape(v):
    return np.shape(v)


def _unary(x, forward, derivative):
    """An elementwise op: ``derivative(x_array, y_array)`` is dy/dx."""
    xv = _array(x)
    y = forward(xv)
    return record(y, (x,), lambda g, needs: (g * derivative(xv, y),))


def _binary(a, b, forward, grad_a, grad_b):
    """A broadcasting binary op; ``grad_a(g, a, b, y)`` is the gradient before unbroadcast."""
    av, bv = _array(a), _array(b)
    y = forward(av, bv)

    def backward(g, needs):
        ga = _unbroadcast(grad_a(g, av, bv, y), _shape(av)) if needs[0] else None
        gb = _unbroadcast(grad_b(g, av, bv, y), _shape(bv)) if needs[1] else None
        return ga, gb
    return record(y, (a, b), backward)


def _no_grad(value):
    return Tensor(value)


# --- conversion -------------------------------------------------------------------------


def convert_to_tensor(x, dtype=None, sparse=None):
    if dtype is not None:
        return cast(x, dtype)
    if isinstance(x, Tensor):
        return x
    if isinstance(x, Variable):
        return identity(x)
    v = value_of(x)
    if isinstance(v, (bool, int, float)):
        return Tensor(np.asarray(v, dtype=_scalar_dtype(v)))
    return Tensor(_array(v))


def _scalar_dtype(v):
    return "bool" if isinstance(v, bool) else "int32" if isinstance(v, int) else floatx()


def convert_to_numpy(x):
    return np.array(value_of(x)) if not hasattr(value_of(x), "get") else value_of(x).get()


def identity(x):
    return record(_array(x), (x,), lambda g, needs: (g,))


def cast(x, dtype):
    xv = _array(x)
    src = xv.dtype
    y = xv.astype(dtype)
    if not np.issubdtype(np.dtype(dtype), np.floating):
        return _no_grad(y)
    return record(y, (x,), lambda g, needs: (g.astype(src),))


def shape(x):
    return tuple(_shape(value_of(x)))


# --- arithmetic ---------------------------------------------------------------------------


def add(a, b):
    return _binary(a, b, lambda a, b: a + b, lambda g, a, b, y: g, lambda g, a, b, y: g)


def subtract(a, b):
    return _binary(a, b, lambda a, b: a - b, lambda g, a, b, y: g, lambda g, a, b, y: -g)


def multiply(a, b):
    return _binary(a, b, lambda a, b: a * b, lambda g, a, b, y: g * b, lambda g, a, b, y: g * a)


def divide(a, b):
    return _binary(a, b, lambda a, b: a / b, lambda g, a, b, y: g / b,
                   lambda g, a, b, y: -g * y / b)


true_divide = divide


def power(a, b):
    def grad_b(g, a, b, y):
        xp = _xp(a)
        safe = xp.where(a > 0, a, 1)
        return g * y * xp.log(safe)
    return _binary(a, b, lambda a, b: a ** b, lambda g, a, b, y: g * b * a ** (b - 1), grad_b)


def maximum(a, b):
    return _binary(a, b, lambda a, b: _xp(a, b).maximum(a, b),
                   lambda g, a, b, y: g * (a >= b), lambda g, a, b, y: g * (a < b))


def minimum(a, b):
    return _binary(a, b, lambda a, b: _xp(a, b).minimum(a, b),
                   lambda g, a, b, y: g * (a <= b), lambda g, a, b, y: g * (a > b))


def negative(x):
    return _unary(x, lambda x: -x, lambda x, y: -1)


def matmul(a, b):
    av, bv = _array(a), _array(b)
    y = av @ bv

    def backward(g, needs):
        xp = _xp(g)
        a2 = av[None, :] if av.ndim == 1 else av
        b2 = bv[:, None] if bv.ndim == 1 else bv
        g2 = g
        if av.ndim == 1:
            g2 = xp.expand_dims(g2, -2)
        if bv.ndim == 1:
            g2 = xp.expand_dims(g2, -1)
        ga = gb = None
        if needs[0]:
            ga = _unbroadcast(g2 @ xp.swapaxes(b2, -1, -2), a2.shape).reshape(av.shape)
        if needs[1]:
            gb = _unbroadcast(xp.swapaxes(a2, -1, -2) @ g2, b2.shape).reshape(bv.shape)
        return ga, gb
    return record(y, (a, b), backward)


def dot(a, b):
    return matmul(a, b)


# --- elementwise functions ----------------------------------------------------------------


def exp(x):
    return _unary(x, lambda x: _xp(x).exp(x), lambda x, y: y)


def log(x):
    return _unary(x, lambda x: _xp(x).log(x), lambda x, y: 1 / x)


def log1p(x):
    return _unary(x, lambda x: _xp(x).log1p(x), lambda x, y: 1 / (1 + x))


def sqrt(x):
    return _unary(x, lambda x: _xp(x).sqrt(x), lambda x, y: 0.5 / y)


def square(x):
    return _unary(x, lambda x: x * x, lambda x, y: 2 * x)


def abs(x):  # noqa: A001  (keras.ops.abs)
    return _unary(x, lambda x: _xp(x).abs(x), lambda x, y: _xp(x).sign(x))


absolute = abs


def sign(x):
    return _no_grad(_xp(_array(x)).sign(_array(x)))


def round(x, decimals=0):  # noqa: A001
    return _no_grad(_xp(_array(x)).round(_array(x), decimals))


def sin(x):
    return _unary(x, lambda x: _xp(x).sin(x), lambda x, y: _xp(x).cos(x))


def cos(x):
    return _unary(x, lambda x: _xp(x).cos(x), lambda x, y: -_xp(x).sin(x))


def tanh(x):
    return _unary(x, lambda x: _xp(x).tanh(x), lambda x, y: 1 - y * y)


def erf(x):
    from scipy import special
    return _unary(x, special.erf, lambda x, y: (2 / np.sqrt(np.pi)) * _xp(x).exp(-x * x))


def clip(x, x_min, x_max):
    return _unary(x, lambda x: _xp(x).clip(x, x_min, x_max),
                  lambda x, y: (x >= x_min) & (x <= x_max))


def where(condition, x1=None, x2=None):
    c = _array(condition)
    if x1 is None and x2 is None:
        return tuple(Tensor(i) for i in _xp(c).nonzero(c))
    a, b = _array(x1), _array(x2)
    y = _xp(c, a, b).where(c, a, b)

    def backward(g, needs):
        zero = g.dtype.type(0)
        return (None,
                _unbroadcast(_xp(g).where(c, g, zero), _shape(a)) if needs[1] else None,
                _unbroadcast(_xp(g).where(c, zero, g), _shape(b)) if needs[2] else None)
    return record(y, (condition, x1, x2), backward)


# --- activations --------------------------------------------------------------------------


def relu(x):
    return _unary(x, lambda x: _xp(x).maximum(x, 0), lambda x, y: x > 0)


def relu6(x):
    return _unary(x, lambda x: _xp(x).clip(x, 0, 6), lambda x, y: (x > 0) & (x < 6))


def leaky_relu(x, negative_slope=0.2):
    return _unary(x, lambda x: _xp(x).where(x > 0, x, negative_slope * x),
                  lambda x, y: _xp(x).where(x > 0, 1, negative_slope).astype(x.dtype))


def elu(x, alpha=1.0):
    def forward(x):
        xp = _xp(x)
        return xp.where(x > 0, x, alpha * xp.expm1(xp.minimum(x, 0)))
    return _unary(x, forward, lambda x, y: _xp(x).where(x > 0, 1, y + alpha).astype(x.dtype))


def selu(x):
    def forward(x):
        xp = _xp(x)
        return _SELU_SCALE * xp.where(x > 0, x, _SELU_ALPHA * xp.expm1(xp.minimum(x, 0)))
    return _unary(x, forward, lambda x, y: _xp(x).where(
        x > 0, _SELU_SCALE, y + _SELU_SCALE * _SELU_ALPHA).astype(x.dtype))


def _sigmoid(x):
    if isinstance(x, np.ndarray) and x.dtype.kind == "f":
        from scipy.special import expit
        return expit(x)  # one stable ufunc pass: the recurrent cells call this per step
    xp = _xp(x)
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


def sigmoid(x):
    out = _unary(x, _sigmoid, lambda x, y: y * (1 - y))
    out._keras_logits = x
    return out


def hard_sigmoid(x):
    return _unary(x, lambda x: _xp(x).clip(x / 6 + 0.5, 0, 1),
                  lambda x, y: ((x > -3) & (x < 3)) / 6)


def hard_silu(x):
    return multiply(x, hard_sigmoid(x))


def softplus(x):
    """log(1 + exp(x)), computed as max(x, 0) + log1p(exp(-|x|)): finite for any x."""
    def forward(x):
        xp = _xp(x)
        return xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))
    return _unary(x, forward, lambda x, y: _sigmoid(x))


def log_sigmoid(x):
    return negative(softplus(negative(x)))


def softsign(x):
    return _unary(x, lambda x: x / (1 + _xp(x).abs(x)), lambda x, y: 1 / (1 + _xp(x).abs(x)) ** 2)


def silu(x):
    return _unary(x, lambda x: x * _sigmoid(x),
                  lambda x, y: _sigmoid(x) * (1 + x * (1 - _sigmoid(x))))


swish = silu


def gelu(x, approximate=True):
    if approximate:
        c = np.sqrt(2 / np.pi)

        def forward(x):
            return 0.5 * x * (1 + _xp(x).tanh(c * (x + 0.044715 * x ** 3)))

        def derivative(x, y):
            t = _xp(x).tanh(c * (x + 0.044715 * x ** 3))
            return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * c * (1 + 3 * 0.044715 * x * x)
        return _unary(x, forward, derivative)
    from scipy import special

    def forward_exact(x):
        return (0.5 * x * (1 + special.erf(x / np.sqrt(2)))).astype(x.dtype)

    def derivative_exact(x, y):
        cdf = 0.5 * (1 + special.erf(x / np.sqrt(2)))
        return (cdf + x * np.exp(-0.5 * x * x) / np.sqrt(2 * np.pi)).astype(x.dtype)
    return _unary(x, forward_exact, derivative_exact)


def softmax(x, axis=-1):
    xv = _array(x)
    xp = _xp(xv)
    e = xp.exp(xv - xv.max(axis=axis, keepdims=True))
    y = e / e.sum(axis=axis, keepdims=True)
    out = record(y, (x,), lambda g, needs: (y * (g - (g * y).sum(axis=axis, keepdims=True)),))
    out._keras_logits = x
    return out


def logsumexp(x, axis=None, keepdims=False):
    xv = _array(x)
    xp = _xp(xv)
    m = xv.max(axis=axis, keepdims=True)
    m = xp.where(xp.isfinite(m), m, 0)
    s = xp.log(xp.exp(xv - m).sum(axis=axis, keepdims=True)) + m
    y = s if keepdims else xp.squeeze(s, axis=axis) if axis is not None else s.reshape(())

    def backward(g, needs):
        gk = g if keepdims else _expand_reduced(g, xv.ndim, axis)
        return (gk * xp.exp(xv - s),)
    return record(y, (x,), backward)


def log_softmax(x, axis=-1):
    xv = _array(x)
    xp = _xp(xv)
    shifted = xv - xv.max(axis=axis, keepdims=True)
    y = shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))
    return record(y, (x,), lambda g, needs: (g - xp.exp(y) * g.sum(axis=axis, keepdims=True),))


# --- reductions ---------------------------------------------------------------------------


def _axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    axis = (axis,) if isinstance(axis, int) else tuple(axis)
    return tuple(a % ndim if ndim else 0 for a in axis)


def _expand_reduced(g, ndim, axis):
    """g of a reduction without keepdims, reshaped to broadcast against the input."""
    for a in sorted(_axes(axis, ndim)):
        g = _xp(g).expand_dims(g, a)
    return g


def sum(x, axis=None, keepdims=False):  # noqa: A001
    xv = _array(x)
    y = xv.sum(axis=axis, keepdims=keepdims)
    y = _xp(xv).asarray(y)

    def backward(g, needs):
        gk = g if keepdims else _expand_reduced(g, xv.ndim, axis)
        return (_xp(g).broadcast_to(gk, xv.shape),)
    return record(y, (x,), backward)


def mean(x, axis=None, keepdims=False):
    xv = _array(x)
    if not np.issubdtype(xv.dtype, np.floating):
        xv = xv.astype(floatx())
    count = int(np.prod([xv.shape[a] for a in _axes(axis, xv.ndim)]))
    y = _xp(xv).asarray(xv.mean(axis=axis, keepdims=keepdims))

    def backward(g, needs):
        gk = g if keepdims else _expand_reduced(g, xv.ndim, axis)
        return (_xp(g).broadcast_to(gk / count, xv.shape),)
    return record(y, (x,), backward)


def _extremum(x, axis, keepdims, reduce):
    xv = _array(x)
    y = _xp(xv).asarray(reduce(xv, axis=axis, keepdims=True))

    def backward(g, needs):
        gk = g if keepdims else _expand_reduced(g, xv.ndim, axis)
        hit = (xv == y)
        return (gk * hit / hit.sum(axis=axis, keepdims=True),)  # ties share the gradient
    out_value = y if keepdims else (y.reshape(()) if axis is None else
                                    _xp(y).squeeze(y, axis=_axes(axis, xv.ndim)))
    return record(out_value, (x,), backward)


def max(x, axis=None, keepdims=False, initial=None):  # noqa: A001
    return _extremum(x, axis, keepdims, lambda v, **kw: v.max(**kw))


def min(x, axis=None, keepdims=False, initial=None):  # noqa: A001
    return _extremum(x, axis, keepdims, lambda v, **kw: v.min(**kw))


def var(x, axis=None, keepdims=False):
    centred = subtract(x, mean(x, axis=axis, keepdims=True))
    return mean(square(centred), axis=axis, keepdims=keepdims)


def std(x, axis=None, keepdims=False):
    return sqrt(var(x, axis=axis, keepdims=keepdims))


def norm(x, ord=None, axis=None, keepdims=False):
    if ord not in (None, 2, "euclidean", "fro"):
        if ord == 1:
            return sum(abs(x), axis=axis, keepdims=keepdims)
        raise ValueError(f"norm: ord={ord!r} is not supported (None, 1, 2, 'fro')")
    return sqrt(sum(square(x), axis=axis, keepdims=keepdims))


def prod(x, axis=None, keepdims=False):
    xv = _array(x)
    y = _xp(xv).asarray(xv.prod(axis=axis, keepdims=True))

    def backward(g, needs):
        gk = g if keepdims else _expand_reduced(g, xv.ndim, axis)
        return (gk * y / xv,)
    out_value = y if keepdims else (y.reshape(()) if axis is None else
                                    _xp(y).squeeze(y, axis=_axes(axis, xv.ndim)))
    return record(out_value, (x,), backward)


def cumsum(x, axis=None):
    xv = _array(x)
    flat = axis is None
    y = _xp(xv).cumsum(xv.reshape(-1) if flat else xv, axis=0 if flat else axis)

    def backward(g, needs):
        xp = _xp(g)
        a = 0 if flat else axis
        rev = xp.flip(xp.cumsum(xp.flip(g, a), axis=a), a)
        return (rev.reshape(xv.shape),)
    return record(y, (x,), backward)


def argmax(x, axis=None, keepdims=False):
    return _no_grad(_xp(_array(x)).argmax(_array(x), axis=axis, keepdims=keepdims))


def argmin(x, axis=None, keepdims=False):
    return _no_grad(_xp(_array(x)).argmin(_array(x), axis=axis, keepdims=keepdims))


def all(x, axis=None, keepdims=False):  # noqa: A001
    return _no_grad(_xp(_array(x)).all(_array(x), axis=axis, keepdims=keepdims))


def any(x, axis=None, keepdims=False):  # noqa: A001
    return _no_grad(_xp(_array(x)).any(_array(x), axis=axis, keepdims=keepdims))


def top_k(x, k, sorted=True):  # noqa: A002
    xv = _array(x)
    idx = _xp(xv).argsort(-xv, axis=-1, kind="stable")[..., :k]
    return take_along_axis(x, idx, axis=-1), Tensor(idx.astype("int32"))


# --- comparisons and logic (no gradient) --------------------------------------------------


def _compare(fn):
    def op(a, b):
        return _no_grad(fn(_array(a), _array(b)))
    op.__name__ = fn.__name__
    return op


equal = _compare(np.equal)
not_equal = _compare(np.not_equal)
less = _compare(np.less)
less_equal = _compare(np.less_equal)
greater = _compare(np.greater)
greater_equal = _compare(np.greater_equal)
logical_and = _compare(np.logical_and)
logical_or = _compare(np.logical_or)


def logical_not(x):
    return _no_grad(np.logical_not(_array(x)))


# --- shapes -------------------------------------------------------------------------------


def reshape(x, newshape):
    xv = _array(x)
    y = xv.reshape(tuple(-1 if d is None else d for d in newshape))
    return record(y, (x,), lambda g, needs: (g.reshape(xv.shape),))


def transpose(x, axes=None):
    xv = _array(x)
    y = _xp(xv).transpose(xv, axes)
    inverse = None if axes is None else tuple(np.argsort(axes))
    return record(y, (x,), lambda g, needs: (_xp(g).transpose(g, inverse),))


def expand_dims(x, axis):
    xv = _array(x)
    return record(_xp(xv).expand_dims(xv, axis), (x,), lambda g, needs: (g.reshape(xv.shape),))


def squeeze(x, axis=None):
    xv = _array(x)
    return record(_xp(xv).squeeze(xv, axis), (x,), lambda g, needs: (g.reshape(xv.shape),))


def broadcast_to(x, shape):
    xv = _array(x)
    return record(_xp(xv).broadcast_to(xv, shape), (x,),
                  lambda g, needs: (_unbroadcast(g, xv.shape),))


def concatenate(xs, axis=0):
    values = [_array(x) for x in xs]
    y = _xp(*values).concatenate(values, axis=axis)
    bounds = np.cumsum([v.shape[axis] for v in values])[:-1]

    def backward(g, needs):
        return tuple(_xp(g).split(g, bounds, axis=axis))
    return record(y, tuple(xs), backward)


def stack(xs, axis=0):
    values = [_array(x) for x in xs]
    y = _xp(*values).stack(values, axis=axis)

    def backward(g, needs):
        xp = _xp(g)
        return tuple(xp.squeeze(part, axis) for part in xp.split(g, len(values), axis=axis))
    return record(y, tuple(xs), backward)


def split(x, indices_or_sections, axis=0):
    """Pieces of x along ``axis`` (equal sections or cut points), each a recorded op whose
    backward writes its gradient into that piece's slice of a zero array of x's shape."""
    xv = _array(x)
    xp = _xp(xv)
    axis = axis % xv.ndim
    n = xv.shape[axis]
    if isinstance(indices_or_sections, (int, np.integer)):
        if n % indices_or_sections:
            raise ValueError(f"split: an axis of size {n} does not divide into "
                             f"{indices_or_sections} equal sections")
        size = n // indices_or_sections
        cuts = list(range(size, n, size))
    else:
        cuts = [int(c) for c in indices_or_sections]
    bounds = [0] + cuts + [n]
    lead = (slice(None),) * axis

    def piece_backward(index):
        def backward(g, needs):
            gx = xp.zeros(xv.shape, dtype=g.dtype)
            gx[index] = g
            return (gx,)
        return backward
    pieces = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        index = lead + (slice(a, b),)
        pieces.append(record(xv[index], (x,), piece_backward(index)))
    return pieces


def flip(x, axis=None):
    xv = _array(x)
    return record(_xp(xv).flip(xv, axis), (x,), lambda g, needs: (_xp(g).flip(g, axis),))


def tile(x, repeats):
    xv = _array(x)
    y = _xp(xv).tile(xv, repeats)
    reps = (1,) * (y.ndim - len(tuple(np.atleast_1d(repeats)))) + tuple(np.atleast_1d(repeats))
    base = (1,) * (y.ndim - xv.ndim) + xv.shape

    def backward(g, needs):
        split = [s for pair in zip(reps, base) for s in pair]
        return (g.reshape(split).sum(axis=tuple(range(0, 2 * y.ndim, 2))).reshape(xv.shape),)
    return record(y, (x,), backward)


def repeat(x, repeats, axis=None):
    xv = _array(x)
    flat = axis is None
    y = _xp(xv).repeat(xv.reshape(-1) if flat else xv, repeats, axis=0 if flat else axis)
    if not isinstance(repeats, int):
        return _no_grad(y)

    def backward(g, needs):
        a = 0 if flat else axis % xv.ndim
        src = (-1,) if flat else xv.shape
        parts = g.reshape(g.shape[:a] + (g.shape[a] // repeats, repeats) + g.shape[a + 1:])
        return (parts.sum(axis=a + 1).reshape(src if not flat else xv.shape),)
    return record(y, (x,), backward)


def _basic_index(key):
    """Whether ``key`` is basic indexing (ints, slices, None, Ellipsis): a view, in which no
    element of the array appears twice. (A loop: this module's ``all`` is keras.ops.all.)"""
    for k in (key if isinstance(key, tuple) else (key,)):
        if isinstance(k, (bool, np.bool_)) or not (
                k is None or k is Ellipsis or isinstance(k, (int, np.integer, slice))):
            return False
    return True


def getitem(x, key):
    xv = _array(x)
    key = tuple(value_of(k) for k in key) if isinstance(key, tuple) else value_of(key)
    y = xv[key]
    basic = _basic_index(key)

    def backward(g, needs):
        gx = _xp(g).zeros(xv.shape, dtype=g.dtype)
        if basic:  # a view: each element of x at most once, so assignment is enough
            gx[key] = g
        else:
            _xp(g).add.at(gx, key, g)
        return (gx,)
    return record(y, (x,), backward)


def take(x, indices, axis=None):
    xv = _array(x)
    idx = _array(indices)
    y = _xp(xv).take(xv, idx, axis=axis)

    def backward(g, needs):
        xp = _xp(g)
        gx = xp.zeros(xv.size if axis is None else xv.shape, dtype=g.dtype)
        if axis is None:
            xp.add.at(gx, idx.reshape(-1), g.reshape(-1))
            return (gx.reshape(xv.shape), None)
        moved = xp.moveaxis(gx, axis, 0)
        g_moved = xp.moveaxis(g.reshape(xv.shape[:axis] + idx.shape + xv.shape[axis + 1:]),
                              tuple(range(axis, axis + idx.ndim)), tuple(range(idx.ndim)))
        xp.add.at(moved, idx.reshape(-1), g_moved.reshape((-1,) + moved.shape[1:]))
        return (gx, None)
    return record(y, (x, indices), backward)


def take_along_axis(x, indices, axis):
    xv = _array(x)
    idx = _array(indices)
    y = _xp(xv).take_along_axis(xv, idx, axis=axis)

    def backward(g, needs):
        gx = _xp(g).zeros(xv.shape, dtype=g.dtype)
        _add_along(gx, idx, g, axis)
        return (gx, None)
    return record(y, (x, indices), backward)


def _add_along(gx, idx, g, axis):
    xp = _xp(gx)
    grids = xp.indices(idx.shape, sparse=True)
    full = list(grids)
    full[axis % gx.ndim] = idx
    xp.add.at(gx, tuple(full), g)


def one_hot(x, num_classes, axis=-1, dtype=None):
    xv = _array(x).astype("int64")
    y = (xv[..., None] == _xp(xv).arange(num_classes)).astype(dtype or floatx())
    if axis != -1:
        y = _xp(y).moveaxis(y, -1, axis)
    return _no_grad(y)


# --- creation -----------------------------------------------------------------------------


def zeros(shape, dtype=None):
    return Tensor(np.zeros(shape, dtype=dtype or floatx()))


def ones(shape, dtype=None):
    return Tensor(np.ones(shape, dtype=dtype or floatx()))


def full(shape, fill_value, dtype=None):
    return Tensor(np.full(shape, fill_value, dtype=dtype or floatx()))


def zeros_like(x, dtype=None):
    return Tensor(_xp(_array(x)).zeros_like(_array(x), dtype=dtype))


def ones_like(x, dtype=None):
    return Tensor(_xp(_array(x)).ones_like(_array(x), dtype=dtype))


def arange(start, stop=None, step=1, dtype=None):
    return Tensor(np.arange(start, stop, step, dtype=dtype))


# --- pooling (the pool2d kernels, keras/_nn.py) --------------------------------------------


def _pool(inputs, pool_size, strides, padding, data_format, mode):
    from . import _nn
    spatial = len(shape(inputs)) - 2
    if spatial not in (1, 2):
        raise ValueError("Inputs to pooling op must have ndim=3 or 4, corresponding to 1D and "
                         f"2D inputs. Received input shape: {shape(inputs)}.")
    pool_size = _nn.standardize_tuple(pool_size, spatial, "pool_size")
    strides = pool_size if strides is None else _nn.standardize_tuple(strides, spatial,
                                                                      "strides")
    return _nn.pool(inputs, pool_size, strides, padding, mode,
                    _nn.standardize_data_format(data_format))


def max_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """Max pooling over the 1 or 2 spatial axes of inputs (rank 3 or 4); ``padding`` 'valid'
    or 'same' (any case); strides default to pool_size (``keras.ops.max_pool``)."""
    return _pool(inputs, pool_size, strides, padding, data_format, "max")


def average_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """Average pooling, each window averaged over its valid (unpadded) elements
    (``keras.ops.average_pool``)."""
    return _pool(inputs, pool_size, strides, padding, data_format, "average")


__all__ += ["average_pool", "getitem", "identity", "max_pool", "take_along_axis"]
_ = stop_gradient  # re-exported: keras.ops.stop_gradient


# --- convolutions: one fused conv2d-family op each (keras/_nn.py) -----------------------------


def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """1-D or 2-D convolution, kernel (*kernel_size, in_channels // groups, out_channels)."""
    from ._nn import convolution
    return convolution(inputs, kernel, None, strides, padding, data_format, dilation_rate)


def depthwise_conv(inputs, kernel, strides=1, padding="valid", data_format=None,
                   dilation_rate=1):
    """Depthwise convolution, kernel (*kernel_size, in_channels, depth_multiplier); output
    channel c * depth_multiplier + m is channel c through filter m."""
    from ._nn import convolution
    return convolution(inputs, kernel, None, strides, padding, data_format, dilation_rate,
                       depthwise=True)


def separable_conv(inputs, depthwise_kernel, pointwise_kernel, strides=1, padding="valid",
                   data_format=None, dilation_rate=1):
    """A depthwise convolution, then a pointwise (1 x 1) one."""
    from ._nn import convolution
    y = convolution(inputs, depthwise_kernel, None, strides, padding, data_format,
                    dilation_rate, depthwise=True)
    return convolution(y, pointwise_kernel, None, 1, "valid", data_format, 1)


def conv_transpose(inputs, kernel, strides=1, padding="valid", output_padding=None,
                   data_format=None, dilation_rate=1):
    """Transposed convolution, kernel (*kernel_size, out_channels, in_channels)."""
    from ._nn import convolution_transpose
    return convolution_transpose(inputs, kernel, None, strides, padding, output_padding,
                                 data_format, dilation_rate)


__all__ += ["conv", "conv_transpose", "depthwise_conv", "separable_conv"]
