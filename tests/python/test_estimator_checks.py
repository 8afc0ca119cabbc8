"""scikit-learn's own estimator checks, all of them, with no expected failures.

scikit-learn runs check_array_api_input only when SCIPY_ARRAY_API=1 was set before
SciPy was imported, and reports it as skipped otherwise; it passes with it set.
For the classifier, scikit-learn itself skips
check_classifiers_multilabel_output_format_decision_function, with the reason that
KNeighborsClassifier has no decision_function (neither has scikit-learn's).
"""

from sklearn.utils.estimator_checks import parametrize_with_checks

from turbolearn.neighbors import KNeighborsClassifier, KNeighborsRegressor, NearestNeighbors


@parametrize_with_checks(
    [
        NearestNeighbors(),
        NearestNeighbors(metric="cosine", n_neighbors=2),
        KNeighborsClassifier(),
        KNeighborsClassifier(weights="distance", metric="manhattan", n_neighbors=2),
        KNeighborsRegressor(),
        KNeighborsRegressor(weights="distance", metric="cosine", n_neighbors=2),
    ]
)
def test_sklearn_compatible(estimator, check):
    check(estimator)
