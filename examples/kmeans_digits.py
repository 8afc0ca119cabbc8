"""k-means on handwritten digits, as in chapter 9 of Hands-On ML: clustering, then k-means as
a preprocessing step for classification; turbolearn against scikit-learn on the same data."""
import time
import warnings

import numpy as np
from sklearn.cluster import KMeans as SkKMeans
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from turbolearn.cluster import KMeans, MiniBatchKMeans

X, y = load_digits(return_X_y=True)

kmeans = KMeans(n_clusters=10, random_state=42).fit(X)
sk_kmeans = SkKMeans(n_clusters=10, random_state=42).fit(X)
print(f"10 clusters: inertia {kmeans.inertia_:.1f} (scikit-learn: {sk_kmeans.inertia_:.1f}), "
      f"same labels as scikit-learn for {np.mean(kmeans.labels_ == sk_kmeans.labels_):.1%}")

mini = MiniBatchKMeans(n_clusters=10, random_state=42, n_init=3).fit(X)
print(f"MiniBatchKMeans inertia {mini.inertia_:.1f} after {mini.n_steps_} mini-batches")

# The book's pipeline, with the distances standardised so the LogisticRegression converges in
# a second rather than a minute.
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=42)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    start = time.perf_counter()
    pipeline = make_pipeline(KMeans(n_clusters=50, random_state=42), StandardScaler(),
                             LogisticRegression(max_iter=1000)).fit(X_train, y_train)
    seconds = time.perf_counter() - start
print(f"KMeans(50) distances as features: test accuracy {pipeline.score(X_test, y_test):.3f} "
      f"(fit in {seconds:.1f} s)")
