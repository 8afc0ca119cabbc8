"""``keras.utils``."""
from ..saving import (custom_object_scope, deserialize_keras_object, get_custom_objects,
                      get_registered_name, register_keras_serializable, serialize_keras_object)
from .file_utils import get_file
from .numerical_utils import normalize, to_categorical
from .progbar import Progbar
from .rng_utils import set_random_seed

__all__ = ["Progbar", "custom_object_scope", "deserialize_keras_object", "get_custom_objects",
           "get_file", "get_registered_name", "normalize", "register_keras_serializable",
           "serialize_keras_object", "set_random_seed", "to_categorical"]
