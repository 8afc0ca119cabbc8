"""``keras.optimizers``: Keras 3's optimizers on the fused ``optim`` kernels."""
from . import schedules
from ._optimizers import SGD, Adadelta, Adagrad, Adam, Adamax, AdamW, Ftrl, Nadam, RMSprop
from .base_optimizer import Optimizer
from .schedules import LearningRateSchedule

__all__ = ["SGD", "Adadelta", "Adagrad", "Adam", "AdamW", "Adamax", "Ftrl", "LearningRateSchedule",
           "Nadam", "Optimizer", "RMSprop", "deserialize", "get", "schedules", "serialize"]

ALL_OBJECTS = (Optimizer, SGD, Adadelta, Adagrad, Adam, AdamW, Adamax, Ftrl, Nadam, RMSprop)
ALL_OBJECTS_DICT = {cls.__name__: cls for cls in ALL_OBJECTS}
ALL_OBJECTS_DICT.update({cls.__name__.lower(): cls for cls in ALL_OBJECTS})


def serialize(optimizer):
    """``{"module", "class_name", "config", "registered_name"}`` of an optimizer."""
    if optimizer is None:
        return None
    if not isinstance(optimizer, Optimizer):
        raise ValueError(f"Could not serialize {optimizer!r}: not an optimizer")
    cls = type(optimizer)
    builtin = ALL_OBJECTS_DICT.get(cls.__name__) is cls
    return {"module": "keras.optimizers" if builtin else cls.__module__,
            "class_name": cls.__name__, "config": optimizer.get_config(),
            "registered_name": None if builtin else cls.__name__}


def deserialize(config, custom_objects=None):
    """The optimizer ``serialize`` described (also a bare ``{"class_name", "config"}``)."""
    from ..saving import get_custom_objects

    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"Could not interpret optimizer identifier: {config}")
    names = [n for n in (config.get("registered_name"), config["class_name"]) if n]
    for table in (custom_objects or {}, get_custom_objects(), ALL_OBJECTS_DICT):
        for n in names:
            if n in table:
                return table[n].from_config(dict(config.get("config") or {}),
                                            custom_objects=custom_objects) \
                    if issubclass(table[n], Optimizer) else table[n](**(config.get("config") or {}))
    raise ValueError(f"Could not interpret optimizer identifier: {config['class_name']!r}")


def get(identifier):
    """An optimizer from an instance, a config dict or a name ("adam", "SGD", ...)."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        if identifier not in ALL_OBJECTS_DICT:
            from ..saving import get_custom_objects
            if identifier not in get_custom_objects():
                raise ValueError(f"Could not interpret optimizer identifier: {identifier!r}")
        return deserialize({"class_name": identifier, "config": {}})
    raise ValueError(f"Could not interpret optimizer identifier: {identifier!r}")
