"""Nearest-neighbour estimators with scikit-learn's interface, on turbolearn's kernels."""

from turbolearn.neighbors._base import NearestNeighbors
from turbolearn.neighbors._classification import KNeighborsClassifier
from turbolearn.neighbors._regression import KNeighborsRegressor

__all__ = ["KNeighborsClassifier", "KNeighborsRegressor", "NearestNeighbors"]
