"""Tensors, variables and the tape: reverse-mode autodiff over ops with their own backward.

An op (``keras.ops`` or a fused layer op) computes its output from plain arrays and, when an
active :class:`GradientTape` watches one of its inputs, attaches a :class:`Node` to the output
``Tensor``: the inputs and a function from the output's gradient to the inputs' gradients.
``GradientTape.gradient`` walks those nodes backwards from the target. Arrays are NumPy arrays
(CuPy arrays on a GPU); a ``Tensor`` wraps one, a ``Variable`` owns one and is updated in place.
"""
import itertools
import threading

import numpy as np

from .._ops._backend import array_namespace

_state = threading.local()
_node_seq = itertools.count()


def floatx():
    return getattr(_state, "floatx", "float32")


def set_floatx(value):
    if value not in ("float16", "float32", "float64"):
        raise ValueError(f"Unknown floatx {value!r}: expected 'float16', 'float32' or 'float64'")
    _state.floatx = value


def _active_tapes():
    return getattr(_state, "tapes", ())


class Node:
    """How an op's output was made: its inputs and ``backward(grad, needs) -> grads``.

    ``needs[i]`` says whether input i's gradient is wanted, so an op can skip work (a first
    Dense layer never computes the gradient of its input data).
    """
    __slots__ = ("parents", "backward", "seq")

    def __init__(self, parents, backward):
        self.parents = parents  # None where an input was not watched when the op ran
        self.backward = backward
        self.seq = next(_node_seq)  # ops run in order: sorting by seq orders the graph


def value_of(x):
    """The array behind a Tensor or Variable; other inputs are returned unchanged."""
    return x.value if isinstance(x, (Tensor, Variable)) else x


def _needs_grad(x, tapes):
    """Whether an op input must be recorded: the output of a recorded op, or watched."""
    if isinstance(x, Tensor):
        if x._node is not None:
            return True
    elif not isinstance(x, Variable):
        return False
    for tape in tapes:
        if tape._recording and tape._watches(x):
            return True
    return False


def record(value, inputs, backward):
    """Wraps an op's output ``value``; records a Node when a tape watches one of ``inputs``.

    ``backward(grad, needs)`` returns one gradient array (or None) per input.
    """
    out = Tensor(value)
    tapes = getattr(_state, "tapes", ())
    if tapes:
        tracked = [x if _needs_grad(x, tapes) else None for x in inputs]
        for x in tracked:
            if x is not None:
                out._node = Node(tuple(tracked), backward)
                break
    return out


class _Operators:
    """Python operators and NumPy ufuncs on Tensors and Variables, as recorded ops."""
    __slots__ = ()
    __array_priority__ = 1000

    def __add__(self, other): return _ops().add(self, other)
    def __radd__(self, other): return _ops().add(other, self)
    def __sub__(self, other): return _ops().subtract(self, other)
    def __rsub__(self, other): return _ops().subtract(other, self)
    def __mul__(self, other): return _ops().multiply(self, other)
    def __rmul__(self, other): return _ops().multiply(other, self)
    def __truediv__(self, other): return _ops().divide(self, other)
    def __rtruediv__(self, other): return _ops().divide(other, self)
    def __pow__(self, other): return _ops().power(self, other)
    def __rpow__(self, other): return _ops().power(other, self)
    def __matmul__(self, other): return _ops().matmul(self, other)
    def __rmatmul__(self, other): return _ops().matmul(other, self)
    def __neg__(self): return _ops().negative(self)
    def __pos__(self): return self
    def __abs__(self): return _ops().abs(self)
    def __getitem__(self, key): return _ops().getitem(self, key)
    def __lt__(self, other): return _ops().less(self, other)
    def __le__(self, other): return _ops().less_equal(self, other)
    def __gt__(self, other): return _ops().greater(self, other)
    def __ge__(self, other): return _ops().greater_equal(self, other)
    def __and__(self, other): return _ops().logical_and(self, other)
    def __or__(self, other): return _ops().logical_or(self, other)
    def __invert__(self): return _ops().logical_not(self)
    __hash__ = object.__hash__

    def __array__(self, dtype=None, copy=None):
        value = self.value
        if not isinstance(value, np.ndarray):
            value = value.get()  # CuPy
        value = value if dtype is None else value.astype(dtype, copy=False)
        # np.array(variable) passes copy=True and trusts the result: never hand out the
        # variable's own buffer then (get_weights() would alias the weights)
        return value.copy() if copy and value is self.value else value

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        op = _UFUNC_OPS.get(ufunc.__name__) if method == "__call__" and not kwargs else None
        if op is not None:
            return getattr(_ops(), op)(*inputs)
        inputs = [np.asarray(x) if isinstance(x, _Operators) else x for x in inputs]
        return getattr(ufunc, method)(*inputs, **kwargs)

    @property
    def shape(self): return tuple(self.value.shape)
    @property
    def dtype(self): return str(self.value.dtype)
    @property
    def ndim(self): return self.value.ndim
    @property
    def size(self): return self.value.size
    @property
    def T(self): return _ops().transpose(self)

    def __len__(self): return len(self.value)
    def __float__(self): return float(self.value)
    def __int__(self): return int(self.value)
    def __bool__(self): return bool(self.value)
    def __index__(self): return int(self.value)
    def __iter__(self): return (self[i] for i in range(len(self)))

    def numpy(self):
        return np.array(self)


# NumPy ufuncs that run as recorded ops on Tensors: np.square(t) keeps the gradient.
_UFUNC_OPS = {
    "add": "add", "subtract": "subtract", "multiply": "multiply", "divide": "divide",
    "true_divide": "divide", "negative": "negative", "power": "power", "exp": "exp",
    "log": "log", "sqrt": "sqrt", "square": "square", "absolute": "abs", "maximum": "maximum",
    "minimum": "minimum", "tanh": "tanh", "matmul": "matmul", "log1p": "log1p", "sign": "sign",
    "less": "less", "less_equal": "less_equal", "greater": "greater",
    "greater_equal": "greater_equal", "equal": "equal", "not_equal": "not_equal",
}


def _ops():
    from . import ops
    return ops


class Tensor(_Operators):
    """An op's output: an array and, when recorded on a tape, the Node that made it."""
    __slots__ = ("value", "_node", "_keras_logits", "_keras_mask", "__weakref__")

    def __init__(self, value):
        self.value = value
        self._node = None
        self._keras_logits = None  # softmax/sigmoid outputs keep their logits (stable losses)
        self._keras_mask = None

    def __repr__(self):
        return f"<Tensor shape={self.shape} dtype={self.dtype}\n{self.value!r}>"


_variable_uids = itertools.count()


class Variable(_Operators):
    """A named array that layers own and optimizers update in place (``keras.Variable``)."""
    __slots__ = ("value", "name", "trainable", "constraint", "regularizer", "path", "_uid",
                 "__weakref__")

    def __init__(self, initializer, shape=None, dtype=None, trainable=True, name=None,
                 constraint=None, regularizer=None):
        dtype = dtype or (initializer.dtype if hasattr(initializer, "dtype")
                          and not callable(initializer) else floatx())
        if callable(initializer):
            if shape is None:
                raise ValueError("A Variable created from a callable initializer needs a shape")
            initializer = initializer(tuple(shape), dtype=dtype)
        value = value_of(initializer)
        xp = array_namespace(value) if not isinstance(value, (int, float, list, tuple)) else np
        self.value = xp.array(value, dtype=dtype, copy=True, order="C")
        if shape is not None and tuple(self.value.shape) != tuple(shape):
            raise ValueError(f"Variable initial value has shape {self.value.shape}, "
                             f"expected {tuple(shape)}")
        self._uid = next(_variable_uids)
        self.name = name or f"variable_{self._uid}"
        self.path = self.name
        self.trainable = trainable
        self.constraint = constraint
        self.regularizer = regularizer

    def assign(self, value):
        value = value_of(value)
        if tuple(np.shape(value)) != self.value.shape:
            raise ValueError(f"Cannot assign a value of shape {np.shape(value)} to variable "
                             f"{self.name!r} of shape {self.value.shape}")
        self.value[...] = value
        return self

    def assign_add(self, value):
        self.value += value_of(value)
        return self

    def assign_sub(self, value):
        self.value -= value_of(value)
        return self

    def __repr__(self):
        return (f"<Variable path={self.path}, shape={self.shape}, dtype={self.dtype}, "
                f"value={self.value!r}>")


def _flatten(structure):
    if isinstance(structure, dict):
        return [leaf for key in structure for leaf in _flatten(structure[key])]
    if isinstance(structure, (list, tuple)):
        return [leaf for item in structure for leaf in _flatten(item)]
    return [structure]


def _pack_like(structure, leaves):
    if isinstance(structure, dict):
        return {key: _pack_like(structure[key], leaves) for key in structure}
    if isinstance(structure, (list, tuple)):
        return type(structure)(_pack_like(item, leaves) for item in structure)
    return next(leaves)


class GradientTape:
    """Records the ops run on watched tensors and variables inside its ``with`` block.

    ``persistent=False`` allows one ``gradient`` call; ``watch_accessed_variables=True``
    watches every trainable Variable an op reads.
    """

    def __init__(self, persistent=False, watch_accessed_variables=True):
        self._persistent = persistent
        self._watch_accessed = watch_accessed_variables
        self._watched = {}
        self._recording = False
        self._used = False

    def __enter__(self):
        _state.tapes = _active_tapes() + (self,)
        self._recording = True
        return self

    def __exit__(self, *exc):
        self._recording = False
        _state.tapes = tuple(t for t in _active_tapes() if t is not self)
        return False

    def _watches(self, x):
        if id(x) in self._watched:
            return True
        if self._watch_accessed and isinstance(x, Variable) and x.trainable:
            self._watched[id(x)] = x
            return True
        return False

    def watch(self, tensor):
        """Watches a Tensor or Variable (or a nested structure of them)."""
        for x in _flatten(tensor):
            if not isinstance(x, (Tensor, Variable)):
                raise TypeError("GradientTape.watch expects Tensors or Variables (use "
                                f"keras.ops.convert_to_tensor), got {type(x).__name__}")
            self._watched[id(x)] = x

    def watched_variables(self):
        return tuple(x for x in self._watched.values() if isinstance(x, Variable))

    def reset(self):
        self._watched = {}

    class _Paused:
        def __init__(self, tape):
            self.tape = tape

        def __enter__(self):
            self.tape._recording = False

        def __exit__(self, *exc):
            self.tape._recording = True
            return False

    def stop_recording(self):
        """A context in which ops are not recorded on this tape."""
        if not self._recording:
            raise ValueError("stop_recording() may only be used while the tape is recording")
        return GradientTape._Paused(self)

    def gradient(self, target, sources, output_gradients=None,
                 unconnected_gradients="none"):
        """d(sum of target)/d(source) for each source, in the sources' structure; None where
        a source does not affect the target (or zeros with ``unconnected_gradients='zero'``)."""
        if self._used and not self._persistent:
            raise RuntimeError("A non-persistent GradientTape can only be used to compute "
                               "gradients once. Use GradientTape(persistent=True) to call "
                               "gradient() more than once.")
        if unconnected_gradients not in ("none", "zero"):
            raise ValueError("unconnected_gradients must be 'none' or 'zero', got "
                             f"{unconnected_gradients!r}")
        self._used = True
        targets = _flatten(target)
        seeds = (_flatten(output_gradients) if output_gradients is not None
                 else [None] * len(targets))
        source_list = _flatten(sources)
        grads = backpropagate(targets, seeds, source_list)
        leaves = []
        for s in source_list:
            g = grads.get(id(s))
            if g is None and unconnected_gradients == "zero":
                g = array_namespace(value_of(s)).zeros_like(value_of(s))
            leaves.append(None if g is None else Tensor(g))
        return _pack_like(sources, iter(leaves))

    def jacobian(self, target, sources, unconnected_gradients="none"):
        """d target[i...] / d source[j...], shaped target.shape + source.shape per source."""
        if self._used and not self._persistent:
            raise RuntimeError("A non-persistent GradientTape can only be used once; use "
                               "GradientTape(persistent=True) for jacobian()")
        self._used = True
        source_list = _flatten(sources)
        t_value = value_of(target)
        t_shape = tuple(t_value.shape)
        xp = array_namespace(t_value)
        leaves = []
        for s in source_list:
            if not _connected(target, s):
                leaves.append(None if unconnected_gradients == "none" else Tensor(
                    xp.zeros(t_shape + tuple(value_of(s).shape), dtype=value_of(s).dtype)))
                continue
            rows = []
            for i in range(int(np.prod(t_shape))):
                seed = xp.zeros(t_value.size, dtype=t_value.dtype)
                seed[i] = 1
                g = backpropagate([target], [seed.reshape(t_shape)], [s]).get(id(s))
                rows.append(xp.zeros_like(value_of(s)) if g is None else g)
            leaves.append(Tensor(xp.stack(rows).reshape(t_shape + tuple(value_of(s).shape))))
        return _pack_like(sources, iter(leaves))


def _connected(target, source):
    return id(target) in _reaching(_recorded([target]), {id(source)})[0]


def _seq(x):
    return x._node.seq


def _recorded(targets):
    """The recorded tensors the targets depend on (targets included), earliest op first."""
    found, seen = [], set()
    stack = [t for t in targets if type(t) is Tensor and t._node is not None]
    while stack:
        x = stack.pop()
        if id(x) in seen:
            continue
        seen.add(id(x))
        found.append(x)
        for p in x._node.parents:
            if type(p) is Tensor and p._node is not None and id(p) not in seen:
                stack.append(p)
    found.sort(key=_seq)
    return found


def _reaching(recorded, source_ids):
    """Ids of the sources and of the recorded tensors that depend on one; and for each
    recorded tensor, whether each input of its op does (the ``needs`` of its backward)."""
    reaches = set(source_ids)
    needs = []
    for x in recorded:  # inputs before outputs
        need = tuple([p is not None and id(p) in reaches for p in x._node.parents])
        if True in need:
            reaches.add(id(x))
        needs.append(need)
    return reaches, needs


def backpropagate(targets, seeds, sources):
    """Gradients (arrays keyed by id) of the targets, seeded by ``seeds`` (None: ones)."""
    source_ids = {id(s) for s in sources}
    recorded = _recorded(targets)
    reaches, needs = _reaching(recorded, source_ids)
    grads = {}
    for t, seed in zip(targets, seeds):
        if id(t) not in reaches:
            continue
        v = t.value
        g = array_namespace(v).ones_like(v) if seed is None else value_of(seed)
        grads[id(t)] = grads[id(t)] + g if id(t) in grads else g
    for x, need in zip(reversed(recorded), reversed(needs)):
        key = id(x)
        # a source keeps its gradient; any other tensor's is dropped once passed on
        g = grads.get(key) if key in source_ids else grads.pop(key, None)
        if g is None:
            continue
        node = x._node
        for p, n, gp in zip(node.parents, need, node.backward(g, need)):
            if n and gp is not None:
                key = id(p)
                grads[key] = grads[key] + gp if key in grads else gp
    return grads


def stop_gradient(x):
    """x's value, cut from the tape."""
    return Tensor(value_of(x))
