"""``keras.layers``."""
from .activations import ELU, Activation, LeakyReLU, PReLU, ReLU, Softmax
from .convolutional import (Conv1D, Conv1DTranspose, Conv2D, Conv2DTranspose, Convolution1D,
                            Convolution1DTranspose, Convolution2D, Convolution2DTranspose,
                            DepthwiseConv1D, DepthwiseConv2D, SeparableConv1D, SeparableConv2D,
                            SeparableConvolution1D, SeparableConvolution2D)
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
    "BatchNormalization", "Concatenate", "Conv1D", "Conv1DTranspose", "Conv2D",
    "Conv2DTranspose", "Convolution1D", "Convolution1DTranspose", "Convolution2D",
    "Convolution2DTranspose", "Dense", "DepthwiseConv1D", "DepthwiseConv2D", "Dropout", "ELU", "Flatten",
    "GaussianDropout", "GaussianNoise", "Identity", "Input", "InputLayer", "KerasTensor",
    "Lambda", "Layer", "LayerNormalization", "LeakyReLU", "Maximum", "Minimum", "Multiply", "Normalization",
    "PReLU", "Permute", "ReLU", "RepeatVector", "Reshape", "SeparableConv1D", "SeparableConv2D",
    "SeparableConvolution1D", "SeparableConvolution2D", "Softmax", "Subtract", "add",
    "average", "concatenate", "maximum", "minimum", "multiply", "subtract",
]
