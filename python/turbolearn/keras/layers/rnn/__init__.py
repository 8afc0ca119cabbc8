"""Recurrent layers: the generic RNN, the built-in cells and layers, and the wrappers."""
from .cells import GRUCell, LSTMCell, SimpleRNNCell, StackedRNNCells
from .loop import rnn_loop
from .rnn import GRU, LSTM, RNN, SimpleRNN
from .wrappers import Bidirectional, TimeDistributed, Wrapper

__all__ = ["Bidirectional", "GRU", "GRUCell", "LSTM", "LSTMCell", "RNN", "SimpleRNN",
           "SimpleRNNCell", "StackedRNNCells", "TimeDistributed", "Wrapper", "rnn_loop"]
