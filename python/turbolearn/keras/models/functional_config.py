"""get_config/from_config of functional models: each layer's config with the calls it takes
part in, KerasTensor arguments written as [layer name, call index, output index]."""
from .._tensor import _flatten, _pack_like
from ..layers.layer import InputLayer, KerasTensor


def _node_keys(model):
    """(layer, index of the call among the model's calls of that layer) for each node."""
    counts, keys = {}, {}
    for node in model._nodes:
        i = counts.get(id(node.layer), 0)
        counts[id(node.layer)] = i + 1
        keys[id(node)] = (node.layer.name, i)
    return keys


def _tensor_ref(t, keys):
    layer, index, tensor_index = t._keras_history
    name, i = keys[id(layer._inbound_nodes[index])]
    return {"__keras_tensor__": [name, i, tensor_index]}


def _structure_config(structure, keys):
    return _pack_like(structure, iter([_tensor_ref(t, keys) if isinstance(t, KerasTensor) else t
                                       for t in _flatten(structure)]))


def functional_config(model):
    from ..saving import serialize_keras_object
    keys = _node_keys(model)
    layers = []
    for layer in model.layers:
        entry = serialize_keras_object(layer)
        entry["name"] = layer.name
        entry["inbound_nodes"] = [
            {"args": _structure_config(list(node.args), keys),
             "kwargs": _structure_config(dict(node.kwargs), keys)}
            for node in model._nodes if node.layer is layer and not isinstance(layer, InputLayer)]
        layers.append(entry)
    return {"name": model.name, "trainable": model.trainable, "layers": layers,
            "input_layers": _structure_config(model._inputs_struct, keys),
            "output_layers": _structure_config(model._outputs_struct, keys)}


def _is_ref(x):
    return isinstance(x, dict) and "__keras_tensor__" in x


def _refs(structure):
    if _is_ref(structure):
        return [structure]
    if isinstance(structure, dict):
        return [r for v in structure.values() for r in _refs(v)]
    if isinstance(structure, list):
        return [r for v in structure for r in _refs(v)]
    return []


def _resolve(structure, made):
    if _is_ref(structure):
        name, i, j = structure["__keras_tensor__"]
        return _flatten(made[(name, i)])[j]
    if isinstance(structure, dict):
        return {k: _resolve(v, made) for k, v in structure.items()}
    if isinstance(structure, list):
        return [_resolve(v, made) for v in structure]
    return structure


def functional_from_config(cls, config, custom_objects=None):
    """Rebuilds the layers, then replays their calls in dependency order."""
    from ..saving import deserialize_keras_object
    layers, made, pending = {}, {}, []
    for entry in config["layers"]:
        layer = deserialize_keras_object(entry, custom_objects)
        layers[entry["name"]] = layer
        if isinstance(layer, InputLayer):
            made[(entry["name"], 0)] = layer.output_tensor
        pending.extend((entry["name"], i, call) for i, call in enumerate(entry["inbound_nodes"]))
    while pending:
        ready = [p for p in pending if all(
            (r["__keras_tensor__"][0], r["__keras_tensor__"][1]) in made
            for r in _refs([p[2]["args"], p[2]["kwargs"]]))]
        if not ready:
            raise ValueError("Cannot rebuild the functional model: its layer calls refer to "
                             "tensors that no call produces")
        for item in ready:
            name, i, call = item
            made[(name, i)] = layers[name](*_resolve(call["args"], made),
                                           **_resolve(call["kwargs"], made))
            pending.remove(item)
    return cls(inputs=_resolve(config["input_layers"], made),
               outputs=_resolve(config["output_layers"], made), name=config.get("name"),
               trainable=config.get("trainable", True))
