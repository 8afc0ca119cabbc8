"""scikit-learn's own estimator checks, all of them, with no expected failures.

scikit-learn runs check_array_api_input only when SCIPY_ARRAY_API=1 was set before
SciPy was imported, and reports it as skipped otherwise; it passes with it set.
"""

from sklearn.utils.estimator_checks import parametrize_with_checks

from turbolearn.neighbors import NearestNeighbors


@parametrize_with_checks([NearestNeighbors(), NearestNeighbors(metric="cosine", n_neighbors=2)])
def test_sklearn_compatible(estimator, check):
    check(estimator)
