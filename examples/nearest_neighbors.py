"""Nearest neighbours of handwritten digits: turbolearn against scikit-learn on the same data."""
import numpy as np
from sklearn.datasets import load_digits
from sklearn.neighbors import NearestNeighbors as SkNearestNeighbors

from turbolearn.neighbors import NearestNeighbors

X, y = load_digits(return_X_y=True)
X = X.astype(np.float32)

nn = NearestNeighbors(n_neighbors=6).fit(X)
distances, indices = nn.kneighbors()  # X=None: each digit's neighbours, itself left out

same_label = (y[indices] == y[:, None]).mean()
print(f"{same_label:.1%} of each digit's 6 nearest neighbours show the same digit")

sk_indices = SkNearestNeighbors(n_neighbors=6).fit(X).kneighbors(return_distance=False)
print(f"neighbour lists identical to scikit-learn's: {np.mean(indices == sk_indices):.2%}")

within = nn.radius_neighbors(X[:5], radius=20.0, return_distance=False)
print("digits within distance 20 of the first five:", [len(ids) for ids in within])
