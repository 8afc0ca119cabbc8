"""``keras.layers``."""
from .activations import ELU, Activation, LeakyReLU, PReLU, ReLU, Softmax
from .core import Dense
from .layer import Input, InputLayer, KerasTensor, Layer
from .merging import (Add, Average, Concatenate, Maximum, Minimum, Multiply, Subtract, add,
                      average, concatenate, maximum, minimum, multiply, subtract)
from .normalization import BatchNormalization, LayerNormalization
from .preprocessing import Normalization
from .regularization import (ActivityRegularization, AlphaDropout, Dropout, GaussianDropout,
                             GaussianNoise)
from .reshaping import Flatten, Permute, RepeatVector, Reshape
from .utility import Identity, Lambda

__all__ = [
    "Activation", "ActivityRegularization", "Add", "AlphaDropout", "Average",
    "BatchNormalization", "Concatenate", "Dense", "Dropout", "ELU", "Flatten",
    "GaussianDropout", "GaussianNoise", "Identity", "Input", "InputLayer", "KerasTensor",
    "Lambda", "Layer", "LayerNormalization", "LeakyReLU", "Maximum", "Minimum", "Multiply", "Normalization",
    "PReLU", "Permute", "ReLU", "RepeatVector", "Reshape", "Softmax", "Subtract", "add",
    "average", "concatenate", "maximum", "minimum", "multiply", "subtract",
]
