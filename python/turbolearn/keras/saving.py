"""Object (de)serialization: every layer, loss, metric, optimizer, initializer, regularizer
and constraint round-trips through ``{"class_name", "config", "module"}`` dicts of JSON;
model and weight files (``save_model``/``load_model``, ``save_weights``/``load_weights``).

Lookup order on load: ``custom_objects``, objects registered with
``register_keras_serializable``, then turbolearn.keras' own modules. Nothing is unpickled.
"""
import datetime
import importlib
import inspect
import io
import json
import os
import threading
import warnings
import zipfile

import numpy as np

__all__ = ["deserialize_keras_object", "get_custom_objects", "get_registered_name",
           "register_keras_serializable", "serialize_keras_object", "custom_object_scope",
           "load_model", "load_weights", "save_model", "save_weights"]

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
    """custom objects, then registered ones, then ``module`` (the serialized object's own:
    layers.Identity and initializers.Identity share a name), then turbolearn.keras' modules."""
    for table in (custom_objects or {}, getattr(_scope, "objects", {}), _GLOBAL_CUSTOM_OBJECTS):
        if name in table:
            return table[name]
    short = name.split(">")[-1]
    candidates = []
    if module and "keras" in module:  # "turbolearn.keras.layers.core" or Keras' "keras.layers"
        candidates.append(module if module.startswith("turbolearn.") else f"turbolearn.{module}")
    for module_name in candidates + [f"turbolearn.keras.{m}" for m in _KERAS_MODULES]:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError:  # a Keras module path turbolearn does not have
            continue
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


# --- model files: save_model / load_model / save_weights / load_weights ----------------------
#
# A model file (``.keras``, or ``.h5``, which here holds the same zip) contains
#   config.json        serialize_keras_object(model) plus "build_config" and "compile_config"
#                      (optimizer, loss, loss_weights, metrics, weighted_metrics serialized)
#   model.weights.npz  every variable of the model under its structural path
#                      ("layers/dense/vars/0": the first variable of the model's first Dense
#                      layer, whatever the layer's name), in ``model.weights`` order, then
#                      the optimizer's variables ("optimizer/vars/0", ... in its order)
#   metadata.json      turbolearn version, Keras API version, date saved
# A weights file (``.weights.h5``) is that model.weights.npz alone. Files are read with
# ``np.load(allow_pickle=False)`` and ``json``: loading never unpickles, so a file runs no code.


_CONFIG_FILENAME = "config.json"
_METADATA_FILENAME = "metadata.json"
_WEIGHTS_FILENAME = "model.weights.npz"
_OPTIMIZER_PREFIX = "optimizer/vars/"
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_KERAS_API_VERSION = "3"


def _snake_case(name):
    from .layers.layer import _snake_case as snake
    return snake(name)


_bare_layer_attributes = None


def _child_entries(layer):
    """(path component, value) pairs in the order of Keras 3's weight walk: a Sequential or
    Functional model's ``layers`` first, then the attributes a bare Layer does not have,
    public names before private ones, sorted."""
    global _bare_layer_attributes
    from .layers.layer import Layer
    from .models.model import Functional
    from .models.sequential import Sequential
    if _bare_layer_attributes is None:  # a named Layer takes no automatic name
        _bare_layer_attributes = frozenset(vars(Layer(name="bare_layer")))
    if isinstance(layer, (Sequential, Functional)):
        yield "layers", layer.layers
    attributes = vars(layer)
    for name in sorted(attributes, key=lambda n: f"~{n}" if n.startswith("_") else n):
        if name not in _bare_layer_attributes:
            yield name, attributes[name]


def _variable_paths(model):
    """{id(variable): structural path} over the model and its nested layers, as Keras 3's
    weight files name them: a layer held in an attribute is under that attribute's name
    ("layers/lstm/cell/vars/0"); a layer in a list, tuple or dict (a model's ``layers``)
    under its class in snake case, numbered within the container ("layers/dense_1/vars/0"),
    so weights load into a fresh copy of the architecture whatever its layers are named.
    A layer reached twice keeps its first path."""
    from .layers.layer import Layer
    paths, seen_layers = {}, {id(model)}

    def visit(layer, prefix):
        for j, w in enumerate(layer._own_weights):
            paths.setdefault(id(w), f"{prefix}vars/{j}")
        for name, value in _child_entries(layer):
            if isinstance(value, Layer):
                visit_once(value, f"{prefix}{name}/")
            elif isinstance(value, (list, tuple, dict)):
                counts = {}
                for item in value.values() if isinstance(value, dict) else value:
                    if isinstance(item, Layer):  # numbered even when already visited
                        base = _snake_case(type(item).__name__)
                        n = counts.get(base, 0)
                        counts[base] = n + 1
                        visit_once(item, f"{prefix}{name}/{base if n == 0 else f'{base}_{n}'}/")

    def visit_once(layer, prefix):
        if id(layer) not in seen_layers:
            seen_layers.add(id(layer))
            visit(layer, prefix)

    visit(model, "")
    return paths


def _model_weight_items(model):
    """(path, variable) in ``model.weights`` order."""
    paths = _variable_paths(model)
    return [(paths[id(w)], w) for w in model.weights]


def _optimizer_store(model):
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        return {}
    store = {}
    if hasattr(optimizer, "save_own_variables"):
        optimizer.save_own_variables(store)
    else:
        store = {str(i): np.array(v) for i, v in enumerate(getattr(optimizer, "variables", []))}
    return store


def _weights_npz_bytes(model):
    arrays = {path: np.array(w) for path, w in _model_weight_items(model)}
    for key, value in _optimizer_store(model).items():
        arrays[_OPTIMIZER_PREFIX + key] = np.asarray(value)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _read_npz(data):
    """{key: array} of npz bytes (or a path), never unpickling."""
    source = io.BytesIO(data) if isinstance(data, bytes) else data
    try:
        with np.load(source, allow_pickle=False) as npz:
            return {key: npz[key] for key in npz.files}
    except ValueError as error:
        raise ValueError(f"The weights file holds an object array, which is never loaded "
                         f"(it would need unpickling): {error}") from None


def _check_writable(filepath, overwrite):
    if os.path.exists(filepath) and not overwrite:
        raise FileExistsError(f"{filepath} exists; pass overwrite=True to replace it")
    if os.path.isdir(filepath):
        raise IsADirectoryError(f"Cannot save to {filepath}: it is a directory")


def _write_atomically(filepath, write):
    """Writes through a temporary file in the same folder, then renames it, so an
    interrupted save never leaves a half-written file under the real name."""
    folder = os.path.dirname(os.path.abspath(filepath))
    tmp = os.path.join(folder, f".{os.path.basename(filepath)}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            write(f)
        os.replace(tmp, filepath)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _serialize_compile_arg(value):
    """A compile() argument as JSON: strings stay names, objects and functions are
    serialized; lists and dicts (per output) keep their structure."""
    if isinstance(value, dict) and "class_name" not in value:
        return {k: _serialize_compile_arg(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_serialize_compile_arg(v) for v in value]
    return serialize_keras_object(value)


def _deserialize_compile_arg(config, custom_objects):
    if isinstance(config, dict):
        if "class_name" in config:
            return deserialize_keras_object(config, custom_objects)
        return {k: _deserialize_compile_arg(v, custom_objects) for k, v in config.items()}
    if isinstance(config, list):
        return [_deserialize_compile_arg(v, custom_objects) for v in config]
    if isinstance(config, str):  # a name compile() resolves (or a custom object's name)
        found = {**(custom_objects or {}), **getattr(_scope, "objects", {})}.get(config)
        return found if found is not None else config
    return config


def get_compile_config(model):
    """What ``model.compile`` was given, as JSON (Keras' ``Model.get_compile_config``);
    an empty dict for a model never compiled."""
    if not getattr(model, "compiled", False):
        return {}
    from . import optimizers
    return {"optimizer": optimizers.serialize(model.optimizer),
            "loss": _serialize_compile_arg(getattr(model, "_loss_config", None)),
            "loss_weights": _serialize_compile_arg(getattr(model, "_loss_weights_config", None)),
            "metrics": _serialize_compile_arg(getattr(model, "_metrics_config", None)),
            "weighted_metrics": _serialize_compile_arg(
                getattr(model, "_weighted_metrics_config", None)),
            "run_eagerly": bool(getattr(model, "run_eagerly", False)),
            "steps_per_execution": 1, "jit_compile": False}


def compile_from_config(model, config, custom_objects=None):
    """Compiles ``model`` as ``get_compile_config`` described."""
    if not config:
        return
    optimizer = config.get("optimizer")
    if isinstance(optimizer, dict):
        from . import optimizers
        optimizer = optimizers.deserialize(optimizer, custom_objects=custom_objects)
    kwargs = {key: _deserialize_compile_arg(config.get(key), custom_objects)
              for key in ("loss", "loss_weights", "metrics", "weighted_metrics")}
    model.compile(optimizer=optimizer, run_eagerly=config.get("run_eagerly", False), **kwargs)


def _model_config(model):
    config = serialize_keras_object(model)
    config["build_config"] = model.get_build_config() if hasattr(model, "get_build_config") \
        else None
    config["compile_config"] = get_compile_config(model) or None
    return config


def save_model(model, filepath, overwrite=True, zipped=None, **kwargs):
    """Saves ``model`` to a ``.keras`` file: a zip holding config.json (architecture, build
    and compile configuration), model.weights.npz (the model's and the optimizer's
    variables) and metadata.json.

    A path ending in ``.h5`` or ``.hdf5`` gets the same zip, not an HDF5 file: turbolearn
    does not write HDF5, and ``load_model`` reads the file back whatever its extension.
    """
    include_optimizer = kwargs.pop("include_optimizer", True)
    if kwargs:
        raise ValueError(f"The following argument(s) are not supported: {list(kwargs)}")
    if zipped is False:
        raise ValueError("turbolearn saves models as zipped files only (zipped=False is not "
                         "supported)")
    filepath = os.fspath(filepath)
    if not filepath.endswith((".keras", ".h5", ".hdf5")):
        raise ValueError("Invalid filepath extension for saving. Please add either a `.keras` "
                         "extension for the native Keras format (recommended) or a `.h5` "
                         f"extension. Received: filepath={filepath}.")
    _check_writable(filepath, overwrite)
    from .. import __version__
    config_json = json.dumps(_model_config(model))
    metadata_json = json.dumps({"keras_version": _KERAS_API_VERSION,
                                "turbolearn_version": __version__,
                                "date_saved": datetime.datetime.now().strftime(
                                    "%Y-%m-%d@%H:%M:%S")})
    if include_optimizer:
        weights = _weights_npz_bytes(model)
    else:
        saved, model_optimizer = model.optimizer, None
        try:
            model.optimizer = model_optimizer
            weights = _weights_npz_bytes(model)
        finally:
            model.optimizer = saved

    def write(f):
        with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED) as zf:
            zf.writestr(_METADATA_FILENAME, metadata_json)
            zf.writestr(_CONFIG_FILENAME, config_json)
            zf.writestr(_WEIGHTS_FILENAME, weights)

    _write_atomically(filepath, write)


def _open_archive(filepath):
    filepath = os.fspath(filepath)
    if not os.path.exists(filepath):
        raise ValueError(f"File not found: filepath={filepath}. Please ensure the file is an "
                         "accessible `.keras` zip file.")
    with open(filepath, "rb") as f:
        head = f.read(8)
    if head == _HDF5_SIGNATURE:
        raise ValueError(f"{filepath} is an HDF5 file (written by Keras or TensorFlow); "
                         "turbolearn reads only its own zip format (config.json + "
                         "model.weights.npz). Load it with Keras and save it again as a "
                         ".keras file, or rebuild the model and set its weights.")
    if not zipfile.is_zipfile(filepath):
        raise ValueError(f"{filepath} is not a model file written by turbolearn (expected a "
                         "zip archive holding config.json and model.weights.npz)")
    return filepath


def _assign_weights(model, arrays, skip_mismatch=False, source="the file"):
    """Sets the model's variables from {path: array}; a missing, extra or misshapen
    weight is an error (a warning and a skip with skip_mismatch)."""
    items = _model_weight_items(model)
    if not items and arrays:
        raise ValueError(f"Model {model.name!r} has no weights yet, but {source} holds "
                         f"{len(arrays)}: build the model (call it on data, or "
                         "model.build(input_shape)) before loading weights")
    expected = {path for path, _ in items}
    unexpected = sorted(set(arrays) - expected)
    missing = sorted(expected - set(arrays))
    if (unexpected or missing) and not skip_mismatch:
        raise ValueError(f"The weights in {source} do not match model {model.name!r}: "
                         f"missing {missing[:8]}{' ...' if len(missing) > 8 else ''}, "
                         f"unexpected {unexpected[:8]}{' ...' if len(unexpected) > 8 else ''}")
    checked = []
    for path, w in items:
        if path not in arrays:
            warnings.warn(f"Skipping weight {path}: not in {source}", stacklevel=3)
            continue
        value = arrays[path]
        if tuple(value.shape) != tuple(w.shape):
            message = (f"Weight {path} ({w.path}) of model {model.name!r} has shape "
                       f"{tuple(w.shape)}, but {source} holds shape {tuple(value.shape)}")
            if not skip_mismatch:
                raise ValueError(message)
            warnings.warn("Skipping: " + message, stacklevel=3)
            continue
        checked.append((w, value))
    for w, value in checked:
        w.assign(np.asarray(value, dtype=w.dtype))


def _load_optimizer_variables(model, arrays, build):
    store = {key[len(_OPTIMIZER_PREFIX):]: value for key, value in arrays.items()
             if key.startswith(_OPTIMIZER_PREFIX)}
    optimizer = getattr(model, "optimizer", None)
    if not store or optimizer is None:
        return
    if build and not getattr(optimizer, "built", True) and hasattr(optimizer, "build") and \
            len(store) > len(optimizer.variables):
        optimizer.build(model.trainable_weights)
    if hasattr(optimizer, "load_own_variables"):
        optimizer.load_own_variables(store)
    elif len(store) == len(optimizer.variables):
        for i, v in enumerate(optimizer.variables):
            v.assign(store[str(i)])


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """The model saved by ``save_model`` (or ``model.save``): the architecture rebuilt from
    its config, the weights set, and with ``compile=True`` compiled as it was, the
    optimizer's state included, so training continues where it stopped.

    Custom layers, losses and metrics are found in ``custom_objects`` or among the objects
    registered with ``register_keras_serializable``. The file holds no code (no pickles, no
    Python bytecode), so ``safe_mode`` has nothing to refuse; it is accepted for Keras
    compatibility.
    """
    filepath = _open_archive(filepath)
    with zipfile.ZipFile(filepath, "r") as zf:
        names = set(zf.namelist())
        for required in (_CONFIG_FILENAME, _WEIGHTS_FILENAME):
            if required not in names:
                raise ValueError(f"{filepath} is not a complete model file: {required} is "
                                 "missing")
        config = json.loads(zf.read(_CONFIG_FILENAME).decode("utf-8"))
        arrays = _read_npz(zf.read(_WEIGHTS_FILENAME))
    return _model_from_saved(config, arrays, custom_objects, compile, filepath)


def _model_from_saved(config, arrays, custom_objects, compile, source):
    config = dict(config)
    build_config = config.pop("build_config", None)
    compile_config = config.pop("compile_config", None)
    with custom_object_scope(custom_objects):
        model = deserialize_keras_object(config, custom_objects)
        model_arrays = {k: v for k, v in arrays.items() if not k.startswith(_OPTIMIZER_PREFIX)}
        if build_config and (not model.built or (model_arrays and not model.weights)):
            shape = build_config.get("input_shape")
            nested = bool(shape) and isinstance(shape[0], (list, tuple))
            model.build([tuple(s) for s in shape] if nested else tuple(shape))
        _assign_weights(model, model_arrays, source=source)
        if compile and compile_config:
            compile_from_config(model, compile_config, custom_objects)
            _load_optimizer_variables(model, arrays, build=True)
    return model


def save_weights(model, filepath, overwrite=True, max_shard_size=None):
    """Saves the model's variables (and its optimizer's) to a ``.weights.h5`` file.

    The file is a NumPy ``.npz`` archive (not HDF5): each variable under its structural path,
    as in a ``.keras`` file's model.weights.npz."""
    filepath = os.fspath(filepath)
    if max_shard_size is not None:
        raise ValueError("turbolearn does not shard weight files (max_shard_size must be None)")
    if not filepath.endswith(".weights.h5"):
        raise ValueError(f"The filename must end in `.weights.h5`. Received: "
                         f"filepath={filepath}")
    _check_writable(filepath, overwrite)
    data = _weights_npz_bytes(model)
    _write_atomically(filepath, lambda f: f.write(data))


def load_weights(model, filepath, skip_mismatch=False, **kwargs):
    """Loads weights saved by ``save_weights`` (``.weights.h5``) or the weights of a
    ``.keras``/``.h5`` model file into ``model``, matched by structure (not layer names).
    The optimizer's variables are loaded too when its state has the same size (a built
    optimizer); otherwise they are skipped with a warning, as in Keras."""
    filepath = _open_archive(filepath)
    with zipfile.ZipFile(filepath, "r") as zf:
        names = set(zf.namelist())
    if _WEIGHTS_FILENAME in names:  # a model file
        with zipfile.ZipFile(filepath, "r") as zf:
            arrays = _read_npz(zf.read(_WEIGHTS_FILENAME))
    else:
        arrays = _read_npz(filepath)
    model_arrays = {k: v for k, v in arrays.items() if not k.startswith(_OPTIMIZER_PREFIX)}
    _assign_weights(model, model_arrays, skip_mismatch=skip_mismatch, source=filepath)
    _load_optimizer_variables(model, arrays, build=False)
