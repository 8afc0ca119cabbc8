"""Clustering estimators with scikit-learn's interface, on turbolearn's kernels."""

from turbolearn.cluster._kmeans import KMeans, MiniBatchKMeans

__all__ = ["KMeans", "MiniBatchKMeans"]
