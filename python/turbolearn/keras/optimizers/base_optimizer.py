"""The ``keras.optimizers.Optimizer`` base: Keras 3's step (filter missing gradients, clip,
decoupled weight decay, update, constraints, EMA, count) with the update itself one call of
the fused ``optim`` kernels (``_ops.optim_update``) for all parameters of one dtype.

Scalars that Keras computes per step in the variables' dtype (the learning rate, which Keras
keeps as a float32 variable, bias corrections, ...) are computed here the same way, with
NumPy scalars of that dtype, so the kernels get Keras' values.
"""
import numbers
import re
import warnings

import numpy as np

from ... import _ops
from .._tensor import Variable, floatx, value_of
from .. import backend
from . import schedules as _schedules

_F = np.float32


def _snake(name):
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class Optimizer:
    """Base class of the optimizers. Subclasses set ``_rule`` (the kernel rule), ``_slot_names``
    and implement ``_step_scalars``."""

    _rule = None

    def __init__(self, learning_rate, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        lr = kwargs.pop("lr", None)  # legacy alias (Keras 2)
        if lr is not None:
            learning_rate = lr
        decay = kwargs.pop("decay", None)  # legacy inverse-time decay (Keras 2)
        if kwargs:
            raise ValueError(f"Argument(s) not recognized: {kwargs}")
        if sum(a is not None for a in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError(
                "Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. "
                f"Received: clipnorm={clipnorm}, clipvalue={clipvalue}, "
                f"global_clipnorm={global_clipnorm}")
        if gradient_accumulation_steps and not gradient_accumulation_steps >= 2:
            raise ValueError("`gradient_accumulation_steps` must be an integer >= 2. Received: "
                             f"gradient_accumulation_steps={gradient_accumulation_steps}")
        if use_ema:
            if ema_momentum > 1 or ema_momentum < 0:
                raise ValueError("`ema_momentum` must be in the range [0, 1]. "
                                 f"Received: ema_momentum={ema_momentum}")
            if ema_overwrite_frequency and (not isinstance(ema_overwrite_frequency, int)
                                            or ema_overwrite_frequency < 1):
                raise ValueError("`ema_overwrite_frequency` must be an integer >= 1 or None. "
                                 f"Received: ema_overwrite_frequency={ema_overwrite_frequency}")
        self.name = name or backend.unique_name(_snake(type(self).__name__))
        self.weight_decay = weight_decay
        self.clipnorm = clipnorm
        self.clipvalue = clipvalue
        self.global_clipnorm = global_clipnorm
        self.use_ema = use_ema
        self.ema_momentum = ema_momentum
        self.ema_overwrite_frequency = ema_overwrite_frequency
        self.loss_scale_factor = loss_scale_factor
        self.gradient_accumulation_steps = gradient_accumulation_steps
        self.decay = float(decay) if decay else 0.0
        self.built = False
        self._iterations = Variable(0, dtype="int64", trainable=False, name="iteration")
        self._learning_rate = None
        self._set_learning_rate(learning_rate)
        self._trainable_variables = []
        self._index = {}
        self._slots = []  # per trainable variable, its slot Variables
        self._extra_variables = []
        self._exclude_ids = set()
        self._exclude_pattern = None

    # ---- learning rate and counters -----------------------------------------------------

    def _set_learning_rate(self, learning_rate):
        if isinstance(learning_rate, _schedules.LearningRateSchedule) or (
                callable(learning_rate) and not isinstance(learning_rate, (Variable, numbers.Number))):
            self._learning_rate = learning_rate
            return
        value = value_of(learning_rate)
        if not isinstance(value, (numbers.Real, np.ndarray, np.generic)) or np.ndim(value) != 0:
            raise ValueError(
                "Argument `learning_rate` should be float, or an instance of "
                "LearningRateSchedule, or a callable (that takes in the current iteration value "
                f"and returns the corresponding learning rate value). Received instead: "
                f"learning_rate={learning_rate}")
        if isinstance(self._learning_rate, _schedules.LearningRateSchedule):
            raise TypeError(
                "This optimizer was created with a `LearningRateSchedule` object as its "
                "`learning_rate` constructor argument, hence its learning rate is not settable. "
                "If you need the learning rate to be settable, you should instantiate the "
                "optimizer with a float `learning_rate` argument.")
        if isinstance(self._learning_rate, Variable):
            self._learning_rate.assign(np.asarray(float(value), dtype=self._learning_rate.value.dtype))
        else:
            self._learning_rate = Variable(float(value), dtype=floatx(), trainable=False,
                                           name="learning_rate")

    @property
    def learning_rate(self):
        """The learning rate Variable (float learning rates), or the schedule's current value."""
        lr = self._learning_rate
        if isinstance(lr, _schedules.LearningRateSchedule):
            return lr(self._iterations)
        if isinstance(lr, Variable):
            return lr
        return lr()

    @learning_rate.setter
    def learning_rate(self, learning_rate):
        self._set_learning_rate(learning_rate)

    # tf.keras 2 spelling
    lr = learning_rate

    @property
    def iterations(self):
        return self._iterations

    @iterations.setter
    def iterations(self, value):
        self._iterations.assign(np.asarray(int(value_of(value)), dtype=np.int64))

    def _current_lr32(self):
        """This step's learning rate as Keras has it: float32, legacy decay applied."""
        lr = self.learning_rate
        lr = _F(np.asarray(value_of(lr)))
        if self.decay:
            lr = lr / (_F(1) + _F(self.decay) * _F(int(self._iterations.value)))
        return lr

    # ---- variables ------------------------------------------------------------------------

    @property
    def variables(self):
        out = [self._iterations]
        if isinstance(self._learning_rate, Variable):
            out.append(self._learning_rate)
        # Keras' order: each add_optimizer_variables call in turn, and in one call naming
        # several slots, variable by variable (m0, v0, m1, v1, ...).
        for group in self._slot_groups():
            out.extend(s[k] for s in self._slots for k in group)
        out.extend(self._extra_variables)
        return out

    def add_variable_from_reference(self, reference_variable, name=None, initializer="zeros"):
        name = f"{reference_variable.path.replace('/', '_')}_{name or 'var'}"
        value = value_of(reference_variable)
        xp = _ops.array_namespace(value)
        init = xp.zeros_like(value) if initializer == "zeros" else xp.full_like(value, initializer)
        return Variable(init, dtype=value.dtype, trainable=False, name=name)

    def _slot_groups(self):
        return [tuple(range(len(self._slot_names)))]

    def _slot_initial(self, k):
        return "zeros"

    def build(self, var_list):
        """Creates the slot variables of ``var_list`` (once)."""
        if self.built:
            return
        var_list = list(var_list)
        self._trainable_variables = var_list
        self._index = {id(v): i for i, v in enumerate(var_list)}
        self._slots = [[self.add_variable_from_reference(v, n, self._slot_initial(k))
                        for k, n in enumerate(self._slot_names)] for v in var_list]
        if self.use_ema:
            self._ema = [self.add_variable_from_reference(v, "average") for v in var_list]
            for avg, v in zip(self._ema, var_list):
                avg.assign(v)
        if self.gradient_accumulation_steps:
            self._accumulated = [self.add_variable_from_reference(v, "gradient_accumulator")
                                 for v in var_list]
        self.built = True

    def exclude_from_weight_decay(self, var_list=None, var_names=None):
        if self.built:
            raise ValueError("`exclude_from_weight_decay()` can only be configured before the "
                             "optimizer is built.")
        self._exclude_ids = {id(v) for v in var_list or ()}
        self._exclude_pattern = re.compile("|".join(set(var_names))) if var_names else None

    def _use_weight_decay(self, variable):
        if id(variable) in self._exclude_ids:
            return False
        return not (self._exclude_pattern is not None
                    and self._exclude_pattern.search(variable.name) is not None)

    # ---- the step ---------------------------------------------------------------------------

    def apply_gradients(self, grads_and_vars):
        grads, trainable_variables = zip(*grads_and_vars)
        self.apply(grads, trainable_variables)
        return self._iterations

    def apply(self, grads, trainable_variables=None):
        """Updates the variables with their gradients (None: skipped, as Keras does)."""
        grads = list(grads)
        if len(grads) == 0:
            return
        if trainable_variables is None:
            if not self.built:
                raise ValueError(
                    "When passing `grads` without `variables`, the optimizer must already be "
                    "built on a list of variables. Call `optimizer.build(trainable_variables)` "
                    "first. ")
            if len(grads) != len(self._trainable_variables):
                raise ValueError(
                    "When passing `grads` as a list of gradient tensors, the gradients must "
                    "match `optimizer.variables` one-to-on. Received a list of "
                    f"{len(grads)} gradients, but the optimizer is tracking "
                    f"{len(self._trainable_variables)} trainable variables.")
            variables = self._trainable_variables
        else:
            variables = list(trainable_variables)
            if not self.built:
                self.build(variables)
            for v in variables:
                if id(v) not in self._index:
                    raise ValueError(
                        f"Unknown variable: {v!r}. This optimizer can only be called for the "
                        "variables it was originally built with. When working with a new set "
                        "of variables, you should recreate a new optimizer instance.")
        if len(grads) != len(variables):
            raise ValueError(f"Got {len(grads)} gradients for {len(variables)} variables")
        pairs = [(g, v) for g, v in zip(grads, variables) if g is not None]
        if not pairs:
            raise ValueError("No gradients provided for any variable.")
        if len(pairs) < len(variables):
            missing = [v.path for g, v in zip(grads, variables) if g is None]
            warnings.warn(f"Gradients do not exist for variables {missing} when minimizing the "
                          "loss. If using `model.compile()`, did you forget to provide a `loss` "
                          "argument?", stacklevel=2)
        grads = [self._gradient_array(g, v) for g, v in pairs]
        variables = [v for _, v in pairs]
        if self.loss_scale_factor is not None:
            grads = [g / g.dtype.type(self.loss_scale_factor) for g in grads]
        if self.gradient_accumulation_steps:
            self._accumulate_or_update(grads, variables)
        else:
            self._update(grads, variables)
        if self.use_ema:
            self._update_ema()
        self._iterations.value += 1

    def _gradient_array(self, g, v):
        g = value_of(g)
        target = v.value
        if not (type(g) is type(target) and g.dtype == target.dtype and g.flags.c_contiguous):
            xp = _ops.array_namespace(target)
            g = xp.ascontiguousarray(xp.asarray(g, dtype=target.dtype))
        if g.shape != target.shape:
            raise ValueError(f"Gradient for variable {v.path!r} has shape {tuple(g.shape)}, but "
                             f"the variable has shape {tuple(target.shape)}")
        return g

    def _accumulate_or_update(self, grads, variables):
        steps = self.gradient_accumulation_steps
        acc = [self._accumulated[self._index[id(v)]].value for v in variables]
        if (int(self._iterations.value) + 1) % steps == 0:
            grads = [(g + a) / g.dtype.type(steps) for g, a in zip(grads, acc)]
            self._update(grads, variables)
            for a in acc:
                a[...] = 0
        else:
            for g, a in zip(grads, acc):
                a += g

    def _clip_scales(self, grads):
        """Per-gradient scale factors for clipnorm / global_clipnorm (None: none)."""
        if self.clipnorm and self.clipnorm > 0:
            out = []
            for g in grads:
                T = g.dtype.type
                flat = g.reshape(-1)
                norm = np.sqrt(T(flat @ flat))
                c = T(self.clipnorm)
                out.append(float(c / np.maximum(norm, c)))
            return out
        if self.global_clipnorm and self.global_clipnorm > 0:
            total = sum(float(g.reshape(-1) @ g.reshape(-1)) for g in grads)
            T = grads[0].dtype.type
            norm = np.sqrt(T(total))
            c = T(self.global_clipnorm)
            with np.errstate(divide="ignore", invalid="ignore"):
                scale = c * np.minimum(T(1) / norm, T(1) / c) + (norm - norm)
            return [float(scale)] * len(grads)
        return None

    def _update(self, grads, variables):
        lr32 = self._current_lr32()
        scales = self._clip_scales(grads)
        clipvalue = self.clipvalue if (self.clipvalue and self.clipvalue > 0) else None
        decays = None
        if self.weight_decay is not None:
            d = float(_F(1) - _F(self.weight_decay) * lr32)
            decays = [d if self._use_weight_decay(v) else 1.0 for v in variables]
        # One kernel call per dtype (one for a usual model).
        groups = {}
        for i, v in enumerate(variables):
            groups.setdefault(v.value.dtype, []).append(i)
        for dtype, idx in groups.items():
            T = np.dtype(dtype).type
            flags, coeffs = self._step_scalars(T, T(lr32))
            _ops.optim_update(
                self._rule, [variables[i].value for i in idx], [grads[i] for i in idx],
                [[s.value for s in self._slots[self._index[id(variables[i])]]] for i in idx],
                lr=float(T(lr32)), coeffs=[float(c) for c in coeffs], flags=flags,
                clipvalue=clipvalue,
                scales=None if scales is None else [scales[i] for i in idx],
                decays=None if decays is None else [decays[i] for i in idx])
        for v in variables:
            if v.constraint is not None:
                v.assign(v.constraint(v))

    def _step_scalars(self, T, lr):
        """(flags, coefficients) of this step for parameters of NumPy scalar type T."""
        raise NotImplementedError

    def _update_ema(self):
        m = self.ema_momentum if int(self._iterations.value) != 0 else 0.0
        for v, avg in zip(self._trainable_variables, self._ema):
            T = avg.value.dtype.type
            avg.value[...] = T(m) * avg.value + (T(1) - T(m)) * v.value
        f = self.ema_overwrite_frequency
        if f and (int(self._iterations.value) + 1) % f == 0:
            self.finalize_variable_values(self._trainable_variables)

    def finalize_variable_values(self, var_list):
        if self.use_ema:
            for v, avg in zip(var_list, self._ema):
                v.assign(avg)

    # ---- state and config ---------------------------------------------------------------------

    def get_weights(self):
        return [np.array(v.value) for v in self.variables]

    def set_weights(self, weights):
        if not self.built:
            raise ValueError("You are calling `set_weights()` on an optimizer that has not yet "
                             "been built. Please call `optimizer.build(trainable_variables)` to "
                             "create the optimizer weights before calling `set_weights()`.")
        for v, w in zip(self.variables, weights):
            if tuple(v.shape) != tuple(np.shape(w)):
                raise ValueError(f"Optimizer variable {v.name} has shape {v.shape} not "
                                 f"compatible with provided weight shape {np.shape(w)}.")
            v.assign(w)

    def save_own_variables(self, store):
        for i, v in enumerate(self.variables):
            store[str(i)] = np.array(v.value)

    def load_own_variables(self, store):
        if len(store.keys()) != len(self.variables):
            warnings.warn(f"Skipping variable loading for optimizer '{self.name}', because it "
                          f"has {len(self.variables)} variables whereas the saved optimizer has "
                          f"{len(store.keys())} variables. ", stacklevel=2)
            return
        for i, v in enumerate(self.variables):
            v.assign(store[str(i)])

    def get_config(self):
        lr = self._learning_rate
        if isinstance(lr, _schedules.LearningRateSchedule):
            learning_rate = _schedules.serialize(lr)
        elif isinstance(lr, Variable):
            learning_rate = float(lr.value)
        else:
            from ..saving import serialize_keras_object
            learning_rate = serialize_keras_object(lr)
        config = {"name": self.name, "learning_rate": learning_rate,
                  "weight_decay": self.weight_decay, "clipnorm": self.clipnorm,
                  "global_clipnorm": self.global_clipnorm, "clipvalue": self.clipvalue,
                  "use_ema": self.use_ema, "ema_momentum": self.ema_momentum,
                  "ema_overwrite_frequency": self.ema_overwrite_frequency,
                  "loss_scale_factor": self.loss_scale_factor,
                  "gradient_accumulation_steps": self.gradient_accumulation_steps}
        if self.decay:
            config["decay"] = self.decay
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = _schedules.deserialize(config["learning_rate"],
                                                             custom_objects=custom_objects)
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"
