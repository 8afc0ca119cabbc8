"""``keras.layers``."""
from .activations import ELU, Activation, LeakyReLU, PReLU, ReLU, Softmax
from .convolutional import (Conv1D, Conv1DTranspose, Conv2D, Conv2DTranspose, Convolution1D,
                            Convolution1DTranspose, Convolution2D, Convolution2DTranspose,
                            DepthwiseConv1D, DepthwiseConv2D, SeparableConv1D, SeparableConv2D,
                            SeparableConvolution1D, SeparableConvolution2D)
from .core import Dense
from .embedding import Embedding, Masking
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
from .rnn import (GRU, LSTM, RNN, Bidirectional, GRUCell, LSTMCell, SimpleRNN, SimpleRNNCell,
                  StackedRNNCells, TimeDistributed, Wrapper)
from .utility import Identity, Lambda

__all__ = [
    "Activation", "ActivityRegularization", "Add", "AlphaDropout", "Average",
    "AveragePooling1D", "AveragePooling2D", "AvgPool1D", "AvgPool2D", "BatchNormalization",
    "Bidirectional", "Concatenate", "Conv1D", "Conv1DTranspose", "Conv2D",
    "Conv2DTranspose", "Convolution1D", "Convolution1DTranspose", "Convolution2D",
    "Convolution2DTranspose", "Cropping1D", "Cropping2D", "Dense", "DepthwiseConv1D",
    "DepthwiseConv2D", "Dropout", "ELU", "Embedding", "Flatten", "GaussianDropout",
    "GaussianNoise", "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAvgPool1D",
    "GlobalAvgPool2D", "GlobalMaxPool1D", "GlobalMaxPool2D", "GlobalMaxPooling1D",
    "GlobalMaxPooling2D", "GRU", "GRUCell", "Identity", "Input", "InputLayer",
    "KerasTensor", "Lambda", "Layer", "LayerNormalization", "LeakyReLU", "LSTM", "LSTMCell",
    "Masking", "Maximum", "MaxPool1D", "MaxPool2D", "MaxPooling1D", "MaxPooling2D",
    "Minimum", "Multiply", "Normalization", "Permute", "PReLU", "ReLU", "RepeatVector",
    "Reshape", "RNN", "SeparableConv1D", "SeparableConv2D", "SeparableConvolution1D",
    "SeparableConvolution2D", "SimpleRNN", "SimpleRNNCell", "Softmax", "StackedRNNCells",
    "Subtract", "TimeDistributed", "UpSampling1D", "UpSampling2D", "Wrapper",
    "ZeroPadding1D", "ZeroPadding2D", "add", "average", "concatenate", "maximum", "minimum",
    "multiply", "subtract",
]
