"""Clustering estimators with scikit-learn's interface, on turbolearn's kernels."""
from ._dbscan import DBSCAN
from ._kmeans import KMeans, MiniBatchKMeans

__all__ = ["DBSCAN", "KMeans", "MiniBatchKMeans"]
