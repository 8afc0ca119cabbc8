"""Metrics with scikit-learn's interface, computed by turbolearn's kernels."""

from turbolearn.metrics._unsupervised import silhouette_samples, silhouette_score
from turbolearn.metrics.pairwise import pairwise_distances

__all__ = ["pairwise_distances", "silhouette_samples", "silhouette_score"]
