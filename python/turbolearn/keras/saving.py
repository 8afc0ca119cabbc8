"""Object (de)serialization: every layer, loss, metric, optimizer, initializer, regularizer
and constraint round-trips through ``{"class_name", "config", "module"}`` dicts of JSON.

Lookup order on load: ``custom_objects``, objects registered with
``register_keras_serializable``, then turbolearn.keras' own modules. Nothing is unpickled.
"""
import importlib
import inspect
import threading

__all__ = ["deserialize_keras_object", "get_custom_objects", "get_registered_name",
           "register_keras_serializable", "serialize_keras_object", "custom_object_scope"]

_GLOBAL_CUSTOM_OBJECTS = {}
_scope = threading.local()
_KERAS_MODULES = ("layers", "losses", "metrics", "optimizers", "optimizers.schedules",
                  "initializers", "regularizers", "constraints", "activations", "models",
                  "callbacks")


def get_custom_objects():
    """The global registry: name -> class or function (mutable, as in Keras)."""
    return _GLOBAL_CUSTOM_OBJECTS


def register_keras_serializable(package="Custom", name=None):
    def decorator(obj):
        registered = f"{package}>{name or obj.__name__}"
        _GLOBAL_CUSTOM_OBJECTS[registered] = obj
        obj._registered_name = registered
        return obj
    return decorator


def get_registered_name(obj):
    return getattr(obj, "_registered_name", None) or getattr(obj, "__name__", type(obj).__name__)


class custom_object_scope:
    """``with custom_object_scope({"name": obj}):`` makes the names resolvable on load."""

    def __init__(self, custom_objects):
        self.custom_objects = dict(custom_objects or {})

    def __enter__(self):
        self._previous = getattr(_scope, "objects", {})
        _scope.objects = {**self._previous, **self.custom_objects}
        return self

    def __exit__(self, *exc):
        _scope.objects = self._previous
        return False


def serialize_keras_object(obj):
    """A JSON-able description of obj (None, plain values and functions included)."""
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, (list, tuple)):
        return [serialize_keras_object(x) for x in obj]
    if isinstance(obj, dict):
        return {k: serialize_keras_object(v) for k, v in obj.items()}
    if inspect.isfunction(obj) or inspect.isbuiltin(obj):
        return {"module": obj.__module__, "class_name": "function",
                "config": get_registered_name(obj), "registered_name": get_registered_name(obj)}
    if inspect.isclass(obj):
        raise TypeError(f"Cannot serialize the class {obj.__name__}; serialize an instance")
    if not hasattr(obj, "get_config"):
        raise TypeError(f"Cannot serialize {obj!r}: it has no get_config()")
    return {"module": type(obj).__module__, "class_name": type(obj).__name__,
            "config": obj.get_config(), "registered_name": get_registered_name(type(obj))}


def _lookup(name, custom_objects, module=None):
    for table in (custom_objects or {}, getattr(_scope, "objects", {}), _GLOBAL_CUSTOM_OBJECTS):
        if name in table:
            return table[name]
    short = name.split(">")[-1]
    # The module the object was saved from first ("keras.initializers" or
    # "turbolearn.keras.initializers"): layers.Identity and initializers.Identity share a name.
    hint = (module or "").split("keras.")[-1] if "keras." in (module or "") else None
    hint = hint if hint in _KERAS_MODULES else None
    for module_name in ((hint,) if hint else ()) + _KERAS_MODULES:
        module = importlib.import_module(f"turbolearn.keras.{module_name}")
        found = getattr(module, short, None)
        if found is not None:
            return found
    return None


def deserialize_keras_object(config, custom_objects=None, **kwargs):
    """The object described by ``serialize_keras_object``'s output (or a bare name)."""
    if config is None or isinstance(config, (bool, int, float)):
        return config
    if isinstance(config, str):
        found = _lookup(config, custom_objects)
        if found is None:
            raise ValueError(f"Unknown object {config!r}: pass it in custom_objects")
        return found
    if isinstance(config, list):
        return [deserialize_keras_object(c, custom_objects) for c in config]
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"Cannot deserialize {config!r}: expected a dict with 'class_name'")
    if config["class_name"] == "function":
        name = config.get("registered_name") or config["config"]
        found = _lookup(name, custom_objects) or _lookup(config["config"], custom_objects)
        if found is None:
            raise ValueError(f"Unknown function {config['config']!r}: pass it in "
                             "custom_objects")
        return found
    for name in (config.get("registered_name"), config["class_name"]):
        cls = _lookup(name, custom_objects, config.get("module")) if name else None
        if cls is not None:
            break
    else:
        raise ValueError(f"Unknown object type {config['class_name']!r}: pass it in "
                         "custom_objects")
    inner = config.get("config") or {}
    with custom_object_scope(custom_objects):
        if hasattr(cls, "from_config"):
            return cls.from_config(inner)
        return cls(**inner)
