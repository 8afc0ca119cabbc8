"""The ops layer: every estimator and layer calls these, never an extension directly.

Each op runs on the device of its inputs and returns its result there. One module per op
family (distance.py, ...), re-exported here.
"""
from ._backend import BACKENDS, array_namespace, module_for, use_backend
from .conv2d import (
    conv2d_algorithms,
    conv2d_backward,
    conv2d_forward,
    conv2d_output_size,
    conv2d_transpose_backward,
    conv2d_transpose_forward,
    conv_padding,
    conv_transpose_padding,
)
from .dbscan import dbscan
from .dense import FUSED_ACTIVATIONS, dense_backward, dense_forward
from .distance import METRICS, argkmin, pairwise_distances
from .kmeans import (
    kmeans_assign,
    kmeans_lloyd_iter,
    kmeans_minibatch_step,
    kmeans_plusplus_distances,
    kmeans_row_sqnorms,
)
from .pool2d import pool2d_backward, pool2d_forward, pool2d_paddings
from .rnn import CELLS, RNN_ACTIVATIONS, rnn_backward, rnn_forward
from .softmax_xent import softmax_xent_backward, softmax_xent_forward
from .optim import optim_slot_count, optim_update

__all__ = ["BACKENDS", "FUSED_ACTIVATIONS", "METRICS", "argkmin", "array_namespace",
           "conv2d_algorithms", "conv2d_backward", "conv2d_forward", "conv2d_output_size", "conv2d_transpose_backward",
           "conv2d_transpose_forward", "conv_padding", "conv_transpose_padding", "dbscan",
           "dense_backward", "dense_forward", "kmeans_assign",
           "kmeans_lloyd_iter", "kmeans_minibatch_step", "kmeans_plusplus_distances",
           "kmeans_row_sqnorms", "module_for", "optim_slot_count", "optim_update",
           "pairwise_distances", "pool2d_backward", "pool2d_forward", "pool2d_paddings",
           "rnn_backward", "rnn_forward", "softmax_xent_backward", "softmax_xent_forward",
           "use_backend", "CELLS", "RNN_ACTIVATIONS"]
