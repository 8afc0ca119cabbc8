"""The fused ops layers and losses are built on: one kernel call per direction, one recorded
Node each, one module per op family.

``dense`` (matmul + bias + activation), ``softmax_xent`` (softmax cross-entropy from logits),
``conv`` / ``conv_transpose`` (1-D and 2-D convolutions, bias and activation fused),
``pool`` / ``global_pool`` (max and average pooling), ``rnn_sequence`` (a whole sequence of a
built-in recurrent cell); ``common`` has Keras' argument checks they share.
"""
from ..._ops.dense import FUSED_ACTIVATIONS
from .common import standardize_data_format, standardize_padding, standardize_tuple
from .conv import (conv, conv_paddings, conv_transpose, conv_transpose_paddings, convolution,
                   convolution_transpose, to_channels_first, to_channels_last)
from .dense import dense
from .pool import global_pool, pool
from .rnn import RNN_ACTIVATIONS, rnn_activation, rnn_sequence
from .softmax_xent import softmax_xent

__all__ = ["FUSED_ACTIVATIONS", "RNN_ACTIVATIONS", "conv", "conv_paddings", "conv_transpose",
           "conv_transpose_paddings", "convolution", "convolution_transpose", "dense",
           "global_pool", "pool", "rnn_activation", "rnn_sequence", "softmax_xent",
           "standardize_data_format", "standardize_padding", "standardize_tuple",
           "to_channels_first", "to_channels_last"]
