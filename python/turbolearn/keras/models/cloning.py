"""``keras.models.clone_model``: the same architecture with new weights."""
from .._tensor import _flatten


def clone_model(model, input_tensors=None, clone_function=None, call_function=None,
                recursive=False, **kwargs):
    """A new model built from ``model``'s config (fresh, re-initialized weights), as Keras
    does; ``clone_function(layer)`` may replace how each layer is cloned (Sequential)."""
    from ..saving import deserialize_keras_object, serialize_keras_object
    from .sequential import Sequential
    if clone_function is not None and isinstance(model, Sequential):
        clone = Sequential([clone_function(layer) for layer in model.layers], name=model.name)
        if model.built and not clone.built:
            clone.build(model._build_shapes[0])
        return clone
    if input_tensors is not None:
        return type(model)(inputs=input_tensors,
                           outputs=model(_flatten(input_tensors)[0] if
                                         len(_flatten(input_tensors)) == 1 else input_tensors))
    return deserialize_keras_object(serialize_keras_object(model))
