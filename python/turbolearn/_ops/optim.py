"""The optim op family: fused, in-place optimizer updates of parameter tensors.

One call updates a list of parameter tensors (a layer's, or a whole model's) with one rule:
per element it reads the gradient once, scales it (``scales``: clipnorm / global_clipnorm
factors), clips it (``clipvalue``), multiplies the parameter by ``decays`` (decoupled weight
decay, ``1 - weight_decay * lr``), then updates the rule's slot arrays and the parameter.
Parameters, gradients and slots are arrays of one float dtype on one device (NumPy: the CPU
kernels; CuPy: the CUDA kernels), C-contiguous; parameters and slots are written in place.

The step's scalars (``lr``, ``coeffs``) are computed by the caller (keras.optimizers) in the
parameters' dtype; ``coeffs`` per rule, in this order:

========== ========================== ==========================================================
rule       slots (per parameter)      coeffs
========== ========================== ==========================================================
sgd        [momentum]                 momentum
adam       m, v, [v_hat]              b1, 1-b1, b2, 1-b2, alpha = lr sqrt(1-b2^t) / (1-b1^t), eps
rmsprop    v, [momentum], [avg grad]  rho, 1-rho, momentum, eps
adagrad    accumulator                eps
adadelta   acc grad, acc delta        rho, 1-rho, eps
adamax     m, u                       b1, 1-b1, b2, 1-b1^t, eps
nadam      m, v                       b1, 1-b1, b2, 1-b2, u_t1, 1-uprod_t1, 1-u_t, 1-uprod_t,
                                      1-b2^t, eps
ftrl       accumulator, linear        -lr_power, l1, 2 * l2 (+ beta / lr), 2 * l2_shrinkage
========== ========================== ==========================================================

Flags: ``MOMENTUM`` (sgd, rmsprop), ``NESTEROV`` (sgd, with MOMENTUM), ``AMSGRAD`` (adam),
``CENTERED`` (rmsprop).
"""
from ._backend import module_for
from ._checks import thread_count

RULES = {"sgd": 0, "adam": 1, "rmsprop": 2, "adagrad": 3, "adadelta": 4, "adamax": 5,
         "nadam": 6, "ftrl": 7}
MOMENTUM, NESTEROV, AMSGRAD, CENTERED = 1, 2, 4, 8


def optim_slot_count(rule, flags=0):
    """How many slot arrays a parameter needs under ``rule`` with ``flags``."""
    r = RULES[rule]
    if r == 0:
        return 1 if flags & MOMENTUM else 0
    if r == 1:
        return 3 if flags & AMSGRAD else 2
    if r == 2:
        return 1 + bool(flags & MOMENTUM) + bool(flags & CENTERED)
    return 1 if r == 3 else 2


def optim_update(rule, params, grads, slots, *, lr, coeffs=(), flags=0, clipvalue=None,
                 scales=None, decays=None, n_threads=None):
    """One optimizer step over the parameter tensors ``params`` (a list), in place.

    ``grads[i]`` has the shape and dtype of ``params[i]``; ``slots[i]`` is the list of its
    slot arrays (``optim_slot_count`` of them); ``scales``/``decays`` are None or one float
    per parameter.
    """
    try:
        code = RULES[rule]
    except KeyError:
        raise ValueError(f"unknown optimizer rule {rule!r}; expected one of {sorted(RULES)}") from None
    module = module_for(*params, *grads)
    module.optim_update(code, flags, params, grads, slots, float(lr),
                        0.0 if clipvalue is None else float(clipvalue), coeffs, scales, decays,
                        thread_count(n_threads))
