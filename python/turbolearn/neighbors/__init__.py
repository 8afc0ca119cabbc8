"""Nearest-neighbour estimators with scikit-learn's interface, on turbolearn's kernels."""

from turbolearn.neighbors._base import NearestNeighbors

__all__ = ["NearestNeighbors"]
