"""The optimizers of ``keras.optimizers``: Keras 3's arguments, defaults and update math.

Each class names its fused kernel rule and slot variables and computes the step's scalars in
the parameters' dtype as Keras (torch backend) computes them; ``_ops.optim_update`` does the
element-wise work (cpp/optim.hpp lists the expressions).
"""
import numpy as np

from ..._ops.optim import AMSGRAD, CENTERED, MOMENTUM, NESTEROV
from .base_optimizer import Optimizer

__all__ = ["SGD", "Adagrad", "Adadelta", "RMSprop", "Adam", "AdamW", "Adamax", "Nadam", "Ftrl"]

_BASE = ("weight_decay", "clipnorm", "clipvalue", "global_clipnorm", "use_ema", "ema_momentum",
         "ema_overwrite_frequency", "loss_scale_factor", "gradient_accumulation_steps", "name")


def _base_kwargs(local):
    return {k: local[k] for k in _BASE}


class SGD(Optimizer):
    _rule = "sgd"

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False,
                 ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        super().__init__(learning_rate=learning_rate, **_base_kwargs(locals()), **kwargs)
        if isinstance(momentum, int) and not isinstance(momentum, bool):
            momentum = float(momentum)
        if not isinstance(momentum, float) or momentum < 0 or momentum > 1:
            raise ValueError("`momentum` must be a float between [0, 1].")
        self.momentum = momentum
        self.nesterov = nesterov

    @property
    def _slot_names(self):
        return ("momentum",) if self.momentum != 0 else ()

    def _step_scalars(self, T, lr):
        if self.momentum == 0:
            return 0, ()
        return MOMENTUM | (NESTEROV if self.nesterov else 0), (T(self.momentum),)

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class Adagrad(Optimizer):
    _rule = "adagrad"
    _slot_names = ("accumulator",)

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None,
                 loss_scale_factor=None, gradient_accumulation_steps=None, name=None, **kwargs):
        super().__init__(learning_rate=learning_rate, **_base_kwargs(locals()), **kwargs)
        self.initial_accumulator_value = initial_accumulator_value
        self.epsilon = epsilon

    def _slot_initial(self, k):
        return self.initial_accumulator_value

    def _step_scalars(self, T, lr):
        return 0, (T(self.epsilon),)

    def get_config(self):
        return {**super().get_config(), "initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}


class Adadelta(Optimizer):
    _rule = "adadelta"
    _slot_names = ("accumulated_grad", "accumulated_delta_var")

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False,
                 ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        super().__init__(learning_rate=learning_rate, **_base_kwargs(locals()), **kwargs)
        self.rho = rho
        self.epsilon = epsilon

    def _step_scalars(self, T, lr):
        return 0, (T(self.rho), T(1 - self.rho), T(self.epsilon))

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}


class RMSprop(Optimizer):
    _rule = "rmsprop"

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None,
                 loss_scale_factor=None, gradient_accumulation_steps=None, name=None, **kwargs):
        super().__init__(learning_rate=learning_rate, **_base_kwargs(locals()), **kwargs)
        self.rho = rho
        self.momentum = momentum
        self.epsilon = epsilon
        self.centered = centered

    @property
    def _slot_names(self):
        return (("velocity",) + (("momentum",) if self.momentum > 0 else ())
                + (("average_gradient",) if self.centered else ()))

    def _slot_groups(self):
        return [(k,) for k in range(len(self._slot_names))]

    def _step_scalars(self, T, lr):
        flags = (MOMENTUM if self.momentum > 0 else 0) | (CENTERED if self.centered else 0)
        return flags, (T(self.rho), T(1 - self.rho), T(self.momentum), T(self.epsilon))

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum,
                "epsilon": self.epsilon, "centered": self.centered}


class Adam(Optimizer):
    _rule = "adam"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        super().__init__(learning_rate=learning_rate, **_base_kwargs(locals()), **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.amsgrad = amsgrad

    @property
    def _slot_names(self):
        return ("momentum", "velocity") + (("velocity_hat",) if self.amsgrad else ())

    def _slot_groups(self):
        return [(0, 1)] + ([(2,)] if self.amsgrad else [])

    def _step_scalars(self, T, lr):
        t = T(int(self._iterations.value) + 1)
        b1p = np.power(T(self.beta_1), t)
        b2p = np.power(T(self.beta_2), t)
        alpha = lr * np.sqrt(T(1) - b2p) / (T(1) - b1p)
        return (AMSGRAD if self.amsgrad else 0), (
            T(self.beta_1), T(1 - self.beta_1), T(self.beta_2), T(1 - self.beta_2), alpha,
            T(self.epsilon))

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon, "amsgrad": self.amsgrad}


class AdamW(Adam):
    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, amsgrad=False, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2,
                         epsilon=epsilon, amsgrad=amsgrad, **_base_kwargs(locals()), **kwargs)
        if self.weight_decay is None:
            raise ValueError("Argument `weight_decay` must be a float. Received: "
                             "weight_decay=None")


class Adamax(Optimizer):
    _rule = "adamax"
    _slot_names = ("momentum", "norm")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None,
                 loss_scale_factor=None, gradient_accumulation_steps=None, name=None, **kwargs):
        super().__init__(learning_rate=learning_rate, **_base_kwargs(locals()), **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    def _step_scalars(self, T, lr):
        t = T(int(self._iterations.value) + 1)
        b1p = np.power(T(self.beta_1), t)
        return 0, (T(self.beta_1), T(1 - self.beta_1), T(self.beta_2), T(1) - b1p,
                   T(self.epsilon))

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}


class Nadam(Optimizer):
    _rule = "nadam"
    _slot_names = ("momentum", "velocity")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None,
                 loss_scale_factor=None, gradient_accumulation_steps=None, name=None, **kwargs):
        super().__init__(learning_rate=learning_rate, **_base_kwargs(locals()), **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    def build(self, var_list):
        if self.built:
            return
        from .._tensor import Variable, floatx

        var_list = list(var_list)
        dtype = var_list[0].value.dtype if var_list else floatx()
        super().build(var_list)
        self._u_product = Variable(1.0, dtype=dtype, trainable=False, name="u_product")
        self._extra_variables = [self._u_product]
        self._u_step = None

    def _step_scalars(self, T, lr):
        it = int(self._iterations.value)
        # u_product advances once per step (in its own dtype), whatever the parameter dtypes.
        if self._u_step != it:
            U = self._u_product.value.dtype.type
            b1, decay = U(self.beta_1), U(0.96)
            u_t = b1 * (U(1.0) - U(0.5) * np.power(decay, U(it + 1)))
            self._u_prev = self._u_product.value[()]
            self._u_product.value[...] = self._u_prev * u_t
            self._u_step = it
        b1, b2, decay = T(self.beta_1), T(self.beta_2), T(0.96)
        u_t = b1 * (T(1.0) - T(0.5) * np.power(decay, T(it + 1)))
        u_t_1 = b1 * (T(1.0) - T(0.5) * np.power(decay, T(it + 2)))
        u_product_t = T(self._u_prev) * u_t
        u_product_t_1 = u_product_t * u_t_1
        b2p = np.power(b2, T(it + 1))
        return 0, (b1, T(1 - self.beta_1), b2, T(1 - self.beta_2), u_t_1,
                   T(1 - np.float64(u_product_t_1)), T(1) - u_t, T(1 - np.float64(u_product_t)),
                   T(1) - b2p, T(self.epsilon))

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}


class Ftrl(Optimizer):
    _rule = "ftrl"
    _slot_names = ("accumulator", "linear")

    def __init__(self, learning_rate=0.001, learning_rate_power=-0.5,
                 initial_accumulator_value=0.1, l1_regularization_strength=0.0,
                 l2_regularization_strength=0.0, l2_shrinkage_regularization_strength=0.0,
                 beta=0.0, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        super().__init__(learning_rate=learning_rate, **_base_kwargs(locals()), **kwargs)
        if initial_accumulator_value < 0.0:
            raise ValueError("`initial_accumulator_value` needs to be positive or zero. "
                             f"Received: initial_accumulator_value={initial_accumulator_value}.")
        if learning_rate_power > 0.0:
            raise ValueError("`learning_rate_power` needs to be negative or zero. Received: "
                             f"learning_rate_power={learning_rate_power}.")
        for arg, value in (("l1_regularization_strength", l1_regularization_strength),
                           ("l2_regularization_strength", l2_regularization_strength),
                           ("l2_shrinkage_regularization_strength",
                            l2_shrinkage_regularization_strength)):
            if value < 0.0:
                raise ValueError(f"`{arg}` needs to be positive or zero. Received: {arg}={value}.")
        self.learning_rate_power = learning_rate_power
        self.initial_accumulator_value = initial_accumulator_value
        self.l1_regularization_strength = l1_regularization_strength
        self.l2_regularization_strength = l2_regularization_strength
        self.l2_shrinkage_regularization_strength = l2_shrinkage_regularization_strength
        self.beta = beta

    def _slot_initial(self, k):
        return self.initial_accumulator_value if k == 0 else "zeros"

    def _step_scalars(self, T, lr):
        l2 = T(self.l2_regularization_strength) + T(self.beta) / (T(2.0) * lr)
        return 0, (T(-self.learning_rate_power), T(self.l1_regularization_strength),
                   T(2) * l2, T(2 * self.l2_shrinkage_regularization_strength))

    def get_config(self):
        return {**super().get_config(), "learning_rate_power": self.learning_rate_power,
                "initial_accumulator_value": self.initial_accumulator_value,
                "l1_regularization_strength": self.l1_regularization_strength,
                "l2_regularization_strength": self.l2_regularization_strength,
                "l2_shrinkage_regularization_strength": self.l2_shrinkage_regularization_strength,
                "beta": self.beta}
