"""Clustering with scikit-learn's interface on turbolearn's kernels."""
from ._dbscan import DBSCAN

__all__ = ["DBSCAN"]
