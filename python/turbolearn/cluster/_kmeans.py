"""K-means clustering with scikit-learn's interface, on turbolearn's k-means kernels.

``KMeans`` and ``MiniBatchKMeans`` follow scikit-learn's algorithms step for step (the same
initialisations and random draws, tolerance, convergence tests, empty-cluster relocation,
mini-batch learning rate, reassignment and early stopping), so the same data and
``random_state`` give scikit-learn's results, up to floating-point round-off. Each Lloyd
iteration is one call of the fused kernel (``_ops.kmeans_lloyd_iter``): a GEMM of a sample
block against the centres into a tile that stays in cache, the argmin and the inertia, and
the per-thread weighted sums, without the samples x centres distance matrix.

Dense NumPy input (float32 stays float32; anything else becomes float64). Sparse input is
not supported: it raises scikit-learn's TypeError for estimators that need dense data.
"""

import functools
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    ClusterMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.cluster._kmeans import _kmeans_plusplus as _sklearn_kmeans_plusplus
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_array, check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.extmath import row_norms
from sklearn.utils.validation import (
    _check_sample_weight,
    _is_arraylike_not_scalar,
    check_is_fitted,
    validate_data,
)

import turbolearn
from turbolearn import _ops

_FLOAT_DTYPES = [np.float64, np.float32]


@functools.cache
def _threadpool_controller():
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def _one_blas_thread():
    """The BLAS single-threaded for a whole fit, as scikit-learn's KMeans does.

    The kernels call the BLAS from inside their OpenMP threads and make it single-threaded
    around each call; left at several threads between calls, its workers wake up and take the
    cores from the next call's OpenMP threads (milliseconds per mini-batch step).
    """
    return _threadpool_controller().limit(limits=1, user_api="blas")


# float32 data: k-means++ keeps a float64 copy of X up to this size (else scikit-learn's own
# function, which upcasts small chunks at every step, 2x slower).
_PLUSPLUS_COPY_BYTES = 1 << 30


def _kmeans_plusplus(X, n_clusters, x_squared_norms, sample_weight, random_state):
    """scikit-learn's greedy k-means++ (``sklearn.cluster._kmeans._kmeans_plusplus``), the
    same computations in the same order, so the same ``random_state`` picks the same centres.

    For float32 data scikit-learn computes the distances in float64 on upcast chunks of X,
    every step; here X is upcast once and each step is one matrix product, finished by one
    fused kernel pass. The float64 values are those of scikit-learn's chunks element for
    element (one dot product each, the same sums), so the float32 distances, their
    cumulative sums and the draws are the same (float32 cumulative sums over many samples
    would drift apart at the slightest difference). Larger data go to scikit-learn's
    function.
    """
    n_samples, n_features = X.shape
    if X.dtype == np.float32:
        if 2 * X.nbytes > _PLUSPLUS_COPY_BYTES:
            return _sklearn_kmeans_plusplus(X, n_clusters, x_squared_norms, sample_weight,
                                            random_state)[0]
        X64 = X.astype(np.float64)
        YY = row_norms(X64, squared=True)
    else:
        X64, YY = X, np.asarray(x_squared_norms, dtype=np.float64)

    def sq_distances(rows, closest=None):
        # scikit-learn's -2 X.Y^T + XX + YY, clamped at 0 (then the minimum with the closest
        # distances so far): NumPy's product, the rest in one fused pass. One thread: the
        # BLAS threads of the product are still spinning (3x slower with two), and the BLAS
        # keeps its threads so that the potentials below are summed as scikit-learn sums them.
        Xc = X64[rows]
        return _ops.kmeans_plusplus_distances(Xc @ X64.T, row_norms(Xc, squared=True), YY,
                                              closest, dtype=X.dtype, n_threads=1)

    centers = np.empty((n_clusters, n_features), dtype=X.dtype)
    n_local_trials = 2 + int(np.log(n_clusters))
    center_id = random_state.choice(n_samples, p=sample_weight / sample_weight.sum())
    centers[0] = X[center_id]
    closest_dist_sq = sq_distances([center_id])
    current_pot = closest_dist_sq @ sample_weight
    for c in range(1, n_clusters):
        # Candidates drawn with probability proportional to their squared distance to the
        # closest centre so far; the one that lowers the potential most is kept.
        rand_vals = random_state.uniform(size=n_local_trials) * current_pot
        candidate_ids = np.searchsorted(np.cumsum(sample_weight * closest_dist_sq), rand_vals)
        np.clip(candidate_ids, None, closest_dist_sq.size - 1, out=candidate_ids)
        distance_to_candidates = sq_distances(candidate_ids, closest_dist_sq)
        candidates_pot = distance_to_candidates @ sample_weight.reshape(-1, 1)
        best_candidate = np.argmin(candidates_pot)
        current_pot = candidates_pot[best_candidate]
        closest_dist_sq = distance_to_candidates[best_candidate]
        centers[c] = X[candidate_ids[best_candidate]]
    return centers


def _tolerance(X, tol):
    """scikit-learn's tolerance: ``tol`` times the mean of the per-feature variances."""
    if tol == 0:
        return 0
    return np.mean(np.var(X, axis=0)) * tol


def _is_same_clustering(labels1, labels2):
    """Whether labels2 is a function of labels1 (scikit-learn's test: same clustering up to a
    relabelling)."""
    pairs = np.unique(labels1.astype(np.int64) * (int(labels2.max()) + 1) + labels2)
    return pairs.size == np.unique(labels1).size


class _BaseKMeans(ClassNamePrefixFeaturesOutMixin, TransformerMixin, ClusterMixin, BaseEstimator):
    """Parameters, initialisation and prediction shared by KMeans and MiniBatchKMeans."""

    _parameter_constraints: dict = {
        "n_clusters": [Interval(Integral, 1, None, closed="left")],
        "init": [StrOptions({"k-means++", "random"}), callable, "array-like"],
        "n_init": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
    }

    def __init__(self, n_clusters, *, init, n_init, max_iter, tol, verbose, random_state):
        self.n_clusters = n_clusters
        self.init = init
        self.max_iter = max_iter
        self.tol = tol
        self.n_init = n_init
        self.verbose = verbose
        self.random_state = random_state

    def _check_params_vs_input(self, X, default_n_init):
        if X.shape[0] < self.n_clusters:
            raise ValueError(f"n_samples={X.shape[0]} should be >= n_clusters={self.n_clusters}.")
        self._tol = _tolerance(X, self.tol)
        if self.n_init == "auto":
            if isinstance(self.init, str) and self.init == "k-means++":
                self._n_init = 1
            elif isinstance(self.init, str) and self.init == "random":
                self._n_init = default_n_init
            elif callable(self.init):
                self._n_init = default_n_init
            else:  # array-like
                self._n_init = 1
        else:
            self._n_init = self.n_init
        if _is_arraylike_not_scalar(self.init) and self._n_init != 1:
            warnings.warn(
                "Explicit initial center position passed: performing only"
                f" one init in {self.__class__.__name__} instead of "
                f"n_init={self._n_init}.",
                RuntimeWarning,
                stacklevel=2,
            )
            self._n_init = 1

    def _validate_fit_input(self, X, sample_weight):
        """X, sample_weight and the RandomState of a fit, checked as scikit-learn checks them."""
        X = validate_data(self, X, dtype=_FLOAT_DTYPES, order="C")
        self._check_params_vs_input(X)
        random_state = check_random_state(self.random_state)
        sample_weight = _check_sample_weight(sample_weight, X, dtype=X.dtype)
        self._n_threads = turbolearn.get_num_threads()
        return X, sample_weight, random_state

    def _validate_center_shape(self, X, centers):
        if centers.shape[0] != self.n_clusters:
            raise ValueError(
                f"The shape of the initial centers {centers.shape} does not "
                f"match the number of clusters {self.n_clusters}."
            )
        if centers.shape[1] != X.shape[1]:
            raise ValueError(
                f"The shape of the initial centers {centers.shape} does not "
                f"match the number of features of the data {X.shape[1]}."
            )

    def _check_init_array(self, X):
        init = self.init
        if _is_arraylike_not_scalar(init):
            init = check_array(init, dtype=X.dtype, copy=True, order="C")
            self._validate_center_shape(X, init)
        return init

    def _init_centroids(self, X, x_squared_norms, init, random_state, sample_weight,
                        init_size=None):
        """scikit-learn's _init_centroids: the same random draws in the same order.

        ``x_squared_norms`` may be None (then computed for the rows k-means++ looks at).
        """
        n_samples = X.shape[0]
        n_clusters = self.n_clusters
        if init_size is not None and init_size < n_samples:
            init_indices = random_state.randint(0, n_samples, init_size)
            X = X[init_indices]
            x_squared_norms = None if x_squared_norms is None else x_squared_norms[init_indices]
            n_samples = X.shape[0]
            sample_weight = sample_weight[init_indices]
        if isinstance(init, str) and init == "k-means++":
            if x_squared_norms is None:
                x_squared_norms = _ops.kmeans_row_sqnorms(np.ascontiguousarray(X))
            centers = _kmeans_plusplus(X, n_clusters, x_squared_norms, sample_weight,
                                       random_state)
        elif isinstance(init, str) and init == "random":
            seeds = random_state.choice(
                n_samples, size=n_clusters, replace=False, p=sample_weight / sample_weight.sum()
            )
            centers = X[seeds]
        elif _is_arraylike_not_scalar(self.init):
            centers = init
        elif callable(init):
            centers = init(X, n_clusters, random_state=random_state)
            centers = check_array(centers, dtype=X.dtype, copy=False, order="C")
            self._validate_center_shape(X, centers)
        return np.ascontiguousarray(centers, dtype=X.dtype)

    def _check_test_data(self, X):
        # The kernels take one dtype: queries take the fitted centres' (scikit-learn itself
        # fails on a float32 model given float64 data).
        return validate_data(self, X, reset=False, dtype=self.cluster_centers_.dtype, order="C")

    def _labels_inertia(self, X, sample_weight, centers=None):
        """Labels (int32) and the exact weighted inertia of X against the centres."""
        centers = self.cluster_centers_ if centers is None else centers
        labels = np.zeros(X.shape[0], dtype=np.int32)
        inertia, _ = _ops.kmeans_assign(X, centers, sample_weight, labels, exact=True)
        return labels, inertia

    def fit_predict(self, X, y=None, sample_weight=None):
        """Compute cluster centers and predict cluster index for each sample.

        Equivalent to ``fit(X).predict(X)``, and cheaper.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Index of the cluster each sample belongs to.
        """
        return self.fit(X, sample_weight=sample_weight).labels_

    def predict(self, X):
        """Predict the closest cluster each sample in X belongs to.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            New data to predict.

        Returns
        -------
        labels : ndarray of shape (n_samples,), int32
            Index of the cluster each sample belongs to.
        """
        check_is_fitted(self)
        X = self._check_test_data(X)
        labels, _ = self._labels_inertia(X, np.ones(X.shape[0], dtype=X.dtype))
        return labels

    def fit_transform(self, X, y=None, sample_weight=None):
        """Compute clustering and transform X to cluster-distance space.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_clusters)
            Distances of each sample to each centre.
        """
        return self.fit(X, sample_weight=sample_weight)._transform(self._check_test_data(X))

    def transform(self, X):
        """Transform X to a cluster-distance space: the euclidean distance of each sample to
        each centre.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_clusters)
        """
        check_is_fitted(self)
        return self._transform(self._check_test_data(X))

    def _transform(self, X):
        return _ops.pairwise_distances(X, self.cluster_centers_, "euclidean")

    def score(self, X, y=None, sample_weight=None):
        """Opposite of the value of X on the K-means objective (the weighted inertia).

        Returns
        -------
        score : float
        """
        check_is_fitted(self)
        X = self._check_test_data(X)
        sample_weight = _check_sample_weight(sample_weight, X, dtype=X.dtype)
        _, inertia = self._labels_inertia(X, sample_weight)
        return -inertia


class KMeans(_BaseKMeans):
    """K-Means clustering (scikit-learn's ``KMeans``, on turbolearn's kernels).

    Parameters
    ----------
    n_clusters : int, default=8
        The number of clusters and centroids.
    init : {'k-means++', 'random'}, callable or array-like of shape (n_clusters, n_features), \
            default='k-means++'
        'k-means++': scikit-learn's greedy k-means++ (its computations in its order, so a
        given ``random_state`` picks scikit-learn's centres); 'random': ``n_clusters`` rows drawn
        at random (weighted by ``sample_weight``); an array: the initial centres; a callable
        ``init(X, n_clusters, random_state=...)`` returning them.
    n_init : 'auto' or int, default='auto'
        Number of runs with different seeds; the best inertia wins. 'auto': 10 for
        'random' or a callable, 1 for 'k-means++' or an array.
    max_iter : int, default=300
        Maximum number of Lloyd iterations of a run.
    tol : float, default=1e-4
        Convergence tolerance on the squared centre shift, relative to the mean variance
        of the features.
    verbose : int, default=0
        Print the inertia of each iteration and the convergence.
    random_state : int, RandomState instance or None, default=None
        Seeds the initialisation.
    copy_x : bool, default=True
        The data are centred (their mean subtracted) for accuracy: on a copy if True, in
        place and restored afterwards if False.
    algorithm : {'lloyd', 'elkan'}, default='lloyd'
        Accepted for compatibility. 'elkan' runs the same Lloyd kernels: Elkan's algorithm
        only skips distance computations and gives the same result, while the fused GEMM
        kernel computes all of them faster than the bounds bookkeeping would save.

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
    labels_ : ndarray of shape (n_samples,), int32
    inertia_ : float
        Sum of squared distances of samples to their closest centre, weighted.
    n_iter_ : int
        Iterations of the best run.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Only when X has feature names that are all strings.
    """

    _parameter_constraints: dict = {
        **_BaseKMeans._parameter_constraints,
        "copy_x": ["boolean"],
        "algorithm": [StrOptions({"lloyd", "elkan"})],
    }

    def __init__(self, n_clusters=8, *, init="k-means++", n_init="auto", max_iter=300, tol=1e-4,
                 verbose=0, random_state=None, copy_x=True, algorithm="lloyd"):
        super().__init__(n_clusters=n_clusters, init=init, n_init=n_init, max_iter=max_iter,
                         tol=tol, verbose=verbose, random_state=random_state)
        self.copy_x = copy_x
        self.algorithm = algorithm

    def _check_params_vs_input(self, X):
        super()._check_params_vs_input(X, default_n_init=10)
        self._algorithm = self.algorithm
        if self._algorithm == "elkan" and self.n_clusters == 1:
            warnings.warn(
                "algorithm='elkan' doesn't make sense for a single cluster. Using 'lloyd' instead.",
                RuntimeWarning,
            )
            self._algorithm = "lloyd"

    def _single_lloyd(self, X, sample_weight, x_squared_norms, centers_init):
        """One run (scikit-learn's _kmeans_single_lloyd): labels, inertia, centres, n_iter."""
        centers = centers_init
        centers_new = np.zeros_like(centers)
        labels = np.full(X.shape[0], -1, dtype=np.int32)
        weight_in_clusters = np.zeros(self.n_clusters, dtype=X.dtype)
        center_shift = np.zeros(self.n_clusters, dtype=X.dtype)
        for i in range(self.max_iter):
            inertia, n_changed = _ops.kmeans_lloyd_iter(
                X, x_squared_norms, sample_weight, centers, centers_new, weight_in_clusters,
                labels, center_shift,
            )
            if self.verbose:
                print(f"Iteration {i}, inertia {inertia}.")
            centers, centers_new = centers_new, centers
            if n_changed == 0:  # the labels did not change: strict convergence
                if self.verbose:
                    print(f"Converged at iteration {i}: strict convergence.")
                break
            center_shift_tot = (center_shift**2).sum()
            if center_shift_tot <= self._tol:
                if self.verbose:
                    print(
                        f"Converged at iteration {i}: center shift "
                        f"{center_shift_tot} within tolerance {self._tol}."
                    )
                break
        # Labels against the final centres (after strict convergence they are the same: the
        # centres are the means of those labels) and the exact inertia, in one pass.
        inertia, _ = _ops.kmeans_assign(X, centers, sample_weight, labels, exact=True)
        return labels, inertia, centers, i + 1

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None):
        """Compute k-means clustering.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training instances to cluster.
        y : Ignored
        sample_weight : array-like of shape (n_samples,), default=None
            The weights for each observation in X (not used by the initialisation when
            ``init`` is a callable or an array).

        Returns
        -------
        self : object
            Fitted estimator.
        """
        X, sample_weight, random_state = self._validate_fit_input(X, sample_weight)
        init = self._check_init_array(X)

        # Subtract the mean for more accurate distances (on a copy unless copy_x=False).
        X_mean = X.mean(axis=0)
        if self.copy_x:
            X = np.subtract(X, X_mean)
        else:
            X -= X_mean
        if _is_arraylike_not_scalar(init):
            init -= X_mean
        x_squared_norms = _ops.kmeans_row_sqnorms(X)

        best_inertia, best_labels = None, None
        for _ in range(self._n_init):
            centers_init = self._init_centroids(X, x_squared_norms, init, random_state,
                                                sample_weight)
            if self.verbose:
                print("Initialization complete")
            with _one_blas_thread():
                labels, inertia, centers, n_iter_ = self._single_lloyd(
                    X, sample_weight, x_squared_norms, centers_init
                )
            # A run replaces the best one only with a better inertia and a different
            # clustering (round-off alone can lower the inertia of the same clustering).
            if best_inertia is None or (
                inertia < best_inertia and not _is_same_clustering(labels, best_labels)
            ):
                best_labels, best_centers = labels, centers
                best_inertia, best_n_iter = inertia, n_iter_

        if not self.copy_x:
            X += X_mean
        best_centers += X_mean

        distinct_clusters = np.unique(best_labels).size
        if distinct_clusters < self.n_clusters:
            warnings.warn(
                f"Number of distinct clusters ({distinct_clusters}) found smaller than "
                f"n_clusters ({self.n_clusters}). Possibly due to duplicate points in X.",
                ConvergenceWarning,
                stacklevel=2,
            )
        self.cluster_centers_ = best_centers
        self._n_features_out = self.cluster_centers_.shape[0]
        self.labels_ = best_labels
        self.inertia_ = best_inertia
        self.n_iter_ = best_n_iter
        return self


class MiniBatchKMeans(_BaseKMeans):
    """Mini-Batch K-Means clustering (scikit-learn's ``MiniBatchKMeans``, on turbolearn's
    kernels).

    Each step draws a mini-batch (weighted by ``sample_weight``, with the same random draws
    as scikit-learn), assigns it and moves each centre to the running mean of everything
    assigned to it so far (``_ops.kmeans_minibatch_step``); low-count centres are reassigned
    to random batch samples every ``10 * n_clusters`` samples, and the run stops early on the
    smoothed batch inertia (``max_no_improvement``) or on the centre change (``tol``).

    Parameters
    ----------
    n_clusters : int, default=8
    init : {'k-means++', 'random'}, callable or array-like, default='k-means++'
        As in KMeans, on ``init_size`` random samples.
    max_iter : int, default=100
        Maximum number of passes over the data (``max_iter * n_samples / batch_size`` steps).
    batch_size : int, default=1024
    verbose : int, default=0
    compute_labels : bool, default=True
        Compute ``labels_`` and ``inertia_`` on the whole data after fitting.
    random_state : int, RandomState instance or None, default=None
    tol : float, default=0.0
        Early stopping on the smoothed squared centre change (0 disables it).
    max_no_improvement : int or None, default=10
        Early stopping after this many steps without improvement of the smoothed inertia.
    init_size : int, default=None
        Samples used by the initialisation (3 * batch_size, at least 3 * n_clusters).
    n_init : 'auto' or int, default='auto'
        Initialisations tried (3 for 'random' or a callable, 1 otherwise under 'auto'); the
        best one on a validation sample is used.
    reassignment_ratio : float, default=0.01
        Centres with fewer than this fraction of the largest count are reassigned.

    Attributes
    ----------
    cluster_centers_, labels_, inertia_, n_iter_, n_steps_, n_features_in_,
    feature_names_in_ : as in scikit-learn.
    """

    _parameter_constraints: dict = {
        **_BaseKMeans._parameter_constraints,
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "compute_labels": ["boolean"],
        "max_no_improvement": [Interval(Integral, 0, None, closed="left"), None],
        "init_size": [Interval(Integral, 1, None, closed="left"), None],
        "reassignment_ratio": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(self, n_clusters=8, *, init="k-means++", max_iter=100, batch_size=1024,
                 verbose=0, compute_labels=True, random_state=None, tol=0.0,
                 max_no_improvement=10, init_size=None, n_init="auto", reassignment_ratio=0.01):
        super().__init__(n_clusters=n_clusters, init=init, max_iter=max_iter, verbose=verbose,
                         random_state=random_state, tol=tol, n_init=n_init)
        self.max_no_improvement = max_no_improvement
        self.batch_size = batch_size
        self.compute_labels = compute_labels
        self.init_size = init_size
        self.reassignment_ratio = reassignment_ratio

    def _check_params_vs_input(self, X):
        super()._check_params_vs_input(X, default_n_init=3)
        self._batch_size = min(self.batch_size, X.shape[0])
        self._init_size = self.init_size
        if self._init_size is None:
            self._init_size = 3 * self._batch_size
            if self._init_size < self.n_clusters:
                self._init_size = 3 * self.n_clusters
        elif self._init_size < self.n_clusters:
            warnings.warn(
                f"init_size={self._init_size} should be larger than "
                f"n_clusters={self.n_clusters}. Setting it to "
                "min(3*n_clusters, n_samples)",
                RuntimeWarning,
                stacklevel=2,
            )
            self._init_size = 3 * self.n_clusters
        self._init_size = min(self._init_size, X.shape[0])

    def _mini_batch_convergence(self, step, n_steps, n_samples, centers_squared_diff,
                                batch_inertia):
        """scikit-learn's early stopping: smoothed (EWA) batch inertia, or centre change."""
        batch_inertia /= self._batch_size
        step = step + 1
        if step == 1:  # the first inertia is that of the initialisation
            if self.verbose:
                print(f"Minibatch step {step}/{n_steps}: mean batch inertia: {batch_inertia}")
            return False
        if self._ewa_inertia is None:
            self._ewa_inertia = batch_inertia
        else:
            alpha = min(self._batch_size * 2.0 / (n_samples + 1), 1)
            self._ewa_inertia = self._ewa_inertia * (1 - alpha) + batch_inertia * alpha
        if self.verbose:
            print(
                f"Minibatch step {step}/{n_steps}: mean batch inertia: "
                f"{batch_inertia}, ewa inertia: {self._ewa_inertia}"
            )
        if self._tol > 0.0 and centers_squared_diff <= self._tol:
            if self.verbose:
                print(f"Converged (small centers change) at step {step}/{n_steps}")
            return True
        if self._ewa_inertia_min is None or self._ewa_inertia < self._ewa_inertia_min:
            self._no_improvement = 0
            self._ewa_inertia_min = self._ewa_inertia
        else:
            self._no_improvement += 1
        if self.max_no_improvement is not None and self._no_improvement >= self.max_no_improvement:
            if self.verbose:
                print(f"Converged (lack of improvement in inertia) at step {step}/{n_steps}")
            return True
        return False

    def _random_reassign(self):
        """Reassign every 10 * n_clusters samples, and whenever a centre has no count."""
        self._n_since_last_reassign += self._batch_size
        if (self._counts == 0).any() or self._n_since_last_reassign >= 10 * self.n_clusters:
            self._n_since_last_reassign = 0
            return True
        return False

    def _mini_batch_step(self, X, sample_weight, centers, centers_new, random_state,
                         random_reassign, labels):
        """scikit-learn's _mini_batch_step: the fused kernel, then the random reassignment of
        low-count centres. Returns the batch inertia (against the old centres)."""
        inertia, _ = _ops.kmeans_minibatch_step(X, sample_weight, centers, centers_new,
                                                self._counts, labels)
        weight_sums = self._counts
        if random_reassign and self.reassignment_ratio > 0:
            to_reassign = weight_sums < self.reassignment_ratio * weight_sums.max()
            # pick at most .5 * batch_size samples as new centers
            if to_reassign.sum() > 0.5 * X.shape[0]:
                indices_dont_reassign = np.argsort(weight_sums)[int(0.5 * X.shape[0]):]
                to_reassign[indices_dont_reassign] = False
            n_reassigns = to_reassign.sum()
            if n_reassigns:
                new_centers = random_state.choice(X.shape[0], replace=False, size=n_reassigns)
                if self.verbose:
                    print(f"[MiniBatchKMeans] Reassigning {n_reassigns} cluster centers.")
                centers_new[to_reassign] = X[new_centers]
            # Reset the counts of reassigned centres, but not to 0 (scikit-learn's rule).
            weight_sums[to_reassign] = np.min(weight_sums[~to_reassign])
        return inertia

    def _minibatch_loop(self, X, n_steps, cdf, unit_sample_weight, labels, centers, centers_new,
                        random_state):
        """The steps of fit; returns the centres and the index of the last step."""
        n_samples = X.shape[0]
        i = 0
        minibatch_indices = np.empty(self._batch_size, dtype=np.intp)
        for i in range(n_steps):
            # RandomState.choice's draws; searched in sorted order, which numpy does faster.
            u = random_state.random_sample(self._batch_size)
            order = np.argsort(u)
            minibatch_indices[order] = cdf.searchsorted(u[order], side="right")
            # The batch is drawn by weight, so its samples count once each.
            batch_inertia = self._mini_batch_step(
                X[minibatch_indices], unit_sample_weight, centers, centers_new, random_state,
                self._random_reassign(), labels,
            )
            if self._tol > 0.0:
                centers_squared_diff = np.sum((centers_new - centers) ** 2)
            else:
                centers_squared_diff = 0
            centers, centers_new = centers_new, centers
            if self._mini_batch_convergence(i, n_steps, n_samples, centers_squared_diff,
                                            batch_inertia):
                break
        return centers, i

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None):
        """Compute the centroids on X by chunking it into mini-batches.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training instances (an ``np.memmap`` is read batch by batch, never copied).
        y : Ignored
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : object
            Fitted estimator.
        """
        X, sample_weight, random_state = self._validate_fit_input(X, sample_weight)
        n_samples, n_features = X.shape
        init = self._check_init_array(X)

        # Validation set for the init
        validation_indices = random_state.randint(0, n_samples, self._init_size)
        X_valid = X[validation_indices]
        sample_weight_valid = sample_weight[validation_indices]

        best_inertia = None
        for init_idx in range(self._n_init):
            if self.verbose:
                print(f"Init {init_idx + 1}/{self._n_init} with method {init}")
            cluster_centers = self._init_centroids(X, None, init, random_state, sample_weight,
                                                   init_size=self._init_size)
            _, inertia = self._labels_inertia(X_valid, sample_weight_valid, cluster_centers)
            if self.verbose:
                print(f"Inertia for init {init_idx + 1}/{self._n_init}: {inertia}")
            if best_inertia is None or inertia < best_inertia:
                init_centers = cluster_centers
                best_inertia = inertia

        centers = init_centers
        centers_new = np.empty_like(centers)
        self._counts = np.zeros(self.n_clusters, dtype=X.dtype)
        self._ewa_inertia = None
        self._ewa_inertia_min = None
        self._no_improvement = 0
        self._n_since_last_reassign = 0

        sum_of_weights = np.sum(sample_weight)
        n_steps = (self.max_iter * n_samples) // self._batch_size
        # The draws of RandomState.choice(n, size, p=w / sum(w)), with its cumulative sum
        # computed once instead of at every step.
        cdf = (sample_weight / sum_of_weights).cumsum()
        cdf /= cdf[-1]
        unit_sample_weight = np.ones(self._batch_size, dtype=X.dtype)
        labels = np.zeros(self._batch_size, dtype=np.int32)
        with _one_blas_thread():
            centers, i = self._minibatch_loop(X, n_steps, cdf, unit_sample_weight, labels,
                                              centers, centers_new, random_state)
        self.cluster_centers_ = centers
        self._n_features_out = self.cluster_centers_.shape[0]
        self.n_steps_ = i + 1
        self.n_iter_ = int(np.ceil(((i + 1) * self._batch_size) / n_samples))
        if self.compute_labels:
            self.labels_, self.inertia_ = self._labels_inertia(X, sample_weight)
        else:
            self.inertia_ = self._ewa_inertia * sum_of_weights
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None, sample_weight=None):
        """Update the k-means estimate on a single mini-batch X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : Ignored
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : object
            Updated estimator.
        """
        has_centers = hasattr(self, "cluster_centers_")
        X = validate_data(self, X, dtype=self.cluster_centers_.dtype if has_centers else _FLOAT_DTYPES,
                          order="C", reset=not has_centers)
        self._random_state = getattr(self, "_random_state", check_random_state(self.random_state))
        sample_weight = _check_sample_weight(sample_weight, X, dtype=X.dtype)
        self.n_steps_ = getattr(self, "n_steps_", 0)
        if not has_centers:
            self._check_params_vs_input(X)
            self._n_threads = turbolearn.get_num_threads()
            init = self._check_init_array(X)
            self.cluster_centers_ = self._init_centroids(
                X, None, init, self._random_state, sample_weight, init_size=self._init_size
            )
            self._counts = np.zeros(self.n_clusters, dtype=X.dtype)
            self._n_since_last_reassign = 0
        labels = np.zeros(X.shape[0], dtype=np.int32)
        with _one_blas_thread():
            self._mini_batch_step(X, sample_weight, self.cluster_centers_, self.cluster_centers_,
                                  self._random_state, self._random_reassign(), labels)
        if self.compute_labels:
            self.labels_, self.inertia_ = self._labels_inertia(X, sample_weight)
        self.n_steps_ += 1
        self._n_features_out = self.cluster_centers_.shape[0]
        return self
