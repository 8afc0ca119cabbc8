"""The ops layer: every estimator and layer calls these, never an extension directly.

Each op runs on the device of its inputs and returns its result there. One module per op
family (distance.py, ...), re-exported here.
"""
from ._backend import BACKENDS, array_namespace, module_for, use_backend
from .dbscan import dbscan
from .distance import METRICS, argkmin, pairwise_distances
from .kmeans import (
    kmeans_assign,
    kmeans_lloyd_iter,
    kmeans_minibatch_step,
    kmeans_plusplus_distances,
    kmeans_row_sqnorms,
)
from .optim import optim_slot_count, optim_update

__all__ = ["BACKENDS", "METRICS", "argkmin", "array_namespace", "dbscan", "kmeans_assign",
           "kmeans_lloyd_iter", "kmeans_minibatch_step", "kmeans_plusplus_distances",
           "kmeans_row_sqnorms", "module_for", "optim_slot_count", "optim_update", "pairwise_distances",
           "use_backend"]
