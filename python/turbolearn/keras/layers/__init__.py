"""``keras.layers``."""
from .activations import ELU, Activation, LeakyReLU, PReLU, ReLU, Softmax
from .core import Dense
from .embedding import Embedding, Masking
from .layer import Input, InputLayer, KerasTensor, Layer
from .merging import (Add, Average, Concatenate, Maximum, Minimum, Multiply, Subtract, add,
                      average, concatenate, maximum, minimum, multiply, subtract)
from .normalization import BatchNormalization, LayerNormalization
from .preprocessing import Normalization
from .regularization import (ActivityRegularization, AlphaDropout, Dropout, GaussianDropout,
                             GaussianNoise)
from .reshaping import Flatten, Permute, RepeatVector, Reshape
from .rnn import (GRU, LSTM, RNN, Bidirectional, GRUCell, LSTMCell, SimpleRNN, SimpleRNNCell,
                  StackedRNNCells, TimeDistributed, Wrapper)
from .utility import Identity, Lambda

__all__ = [
    "Activation", "ActivityRegularization", "Add", "AlphaDropout", "Average",
    "BatchNormalization", "Bidirectional", "Concatenate", "Dense", "Dropout", "ELU",
    "Embedding", "Flatten", "GaussianDropout", "GaussianNoise", "GRU", "GRUCell",
    "Identity", "Input", "InputLayer", "KerasTensor", "Lambda", "Layer",
    "LayerNormalization", "LeakyReLU", "LSTM", "LSTMCell", "Masking", "Maximum", "Minimum",
    "Multiply", "Normalization", "Permute", "PReLU", "ReLU", "RepeatVector", "Reshape",
    "RNN", "SimpleRNN", "SimpleRNNCell", "Softmax", "StackedRNNCells", "Subtract",
    "TimeDistributed", "Wrapper", "add", "average", "concatenate", "maximum", "minimum",
    "multiply", "subtract",
]
