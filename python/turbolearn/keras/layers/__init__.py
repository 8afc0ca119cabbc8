"""``keras.layers``."""
from .activations import ELU, Activation, LeakyReLU, PReLU, ReLU, Softmax
from .core import Dense
from .layer import Input, InputLayer, KerasTensor, Layer
from .merging import (Add, Average, Concatenate, Maximum, Minimum, Multiply, Subtract, add,
                      average, concatenate, maximum, minimum, multiply, subtract)
from .normalization import BatchNormalization, LayerNormalization
from .pooling import (AveragePooling1D, AveragePooling2D, AvgPool1D, AvgPool2D,
                      GlobalAveragePooling1D, GlobalAveragePooling2D, GlobalAvgPool1D,
                      GlobalAvgPool2D, GlobalMaxPool1D, GlobalMaxPool2D, GlobalMaxPooling1D,
                      GlobalMaxPooling2D, MaxPool1D, MaxPool2D, MaxPooling1D, MaxPooling2D)
from .preprocessing import Normalization
from .regularization import (ActivityRegularization, AlphaDropout, Dropout, GaussianDropout,
                             GaussianNoise)
from .reshaping import (Cropping1D, Cropping2D, Flatten, Permute, RepeatVector, Reshape,
                        UpSampling1D, UpSampling2D, ZeroPadding1D, ZeroPadding2D)
from .utility import Identity, Lambda

__all__ = [
    "AveragePooling1D", "AveragePooling2D", "AvgPool1D", "AvgPool2D", "Cropping1D",
    "Cropping2D", "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAvgPool1D",
    "GlobalAvgPool2D", "GlobalMaxPool1D", "GlobalMaxPool2D", "GlobalMaxPooling1D",
    "GlobalMaxPooling2D", "MaxPool1D", "MaxPool2D", "MaxPooling1D", "MaxPooling2D",
    "UpSampling1D", "UpSampling2D", "ZeroPadding1D", "ZeroPadding2D",
    "Activation", "ActivityRegularization", "Add", "AlphaDropout", "Average",
    "BatchNormalization", "Concatenate", "Dense", "Dropout", "ELU", "Flatten",
    "GaussianDropout", "GaussianNoise", "Identity", "Input", "InputLayer", "KerasTensor",
    "Lambda", "Layer", "LayerNormalization", "LeakyReLU", "Maximum", "Minimum", "Multiply", "Normalization",
    "PReLU", "Permute", "ReLU", "RepeatVector", "Reshape", "Softmax", "Subtract", "add",
    "average", "concatenate", "maximum", "minimum", "multiply", "subtract",
]
