"""``keras.wrappers``: Keras models as scikit-learn estimators (Keras 3's SKLearnClassifier,
SKLearnRegressor and SKLearnTransformer), so they fit in pipelines, cross-validation and
hyperparameter searches.

``model`` is a function ``model(X, y, **model_kwargs)`` returning a compiled model (or a
compiled model, which is cloned with fresh weights and compiled the same way at each fit);
``fit_kwargs`` go to ``model.fit``. As in Keras 3, the classifier one-hot encodes the labels
(so the model outputs one probability per class) and predicts the class with the highest
output.

Beyond Keras 3: ``set_params(model__units=64, fit__epochs=10)`` (the routing scikeras and
the book's searches use) updates ``model_kwargs`` and ``fit_kwargs``, so a search can go over
single build-function arguments (``{"model__units": [16, 32]}``) as well as whole
``model_kwargs`` dicts; ``fit_kwargs`` survive ``clone`` (Keras 3's ``__sklearn_clone__``
drops them); ``fit`` never modifies ``fit_kwargs``; the classifier has ``predict_proba``; with
``warm_start=True`` a refit continues training the fitted model. ``KerasClassifier`` and
``KerasRegressor`` are the same classes under the book's names.
"""
import copy

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, TransformerMixin
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = ["KerasClassifier", "KerasRegressor", "SKLearnClassifier", "SKLearnRegressor",
           "SKLearnTransformer"]


class TargetReshaper(TransformerMixin, BaseEstimator):
    """1-D targets as one column for the model; back to 1-D for predictions."""

    def fit(self, y):
        self.ndim_ = y.ndim
        return self

    def transform(self, y):
        return y.reshape(-1, 1) if y.ndim == 1 else y

    def inverse_transform(self, y):
        check_is_fitted(self)
        if self.ndim_ == 1 and y.ndim == 2:
            return np.squeeze(y, axis=1)
        return y


def _check_model(model):
    if not getattr(model, "compiled", False) or getattr(model, "_loss_config", None) is None \
            or not getattr(model, "optimizer", None):
        raise RuntimeError("Given model needs to be compiled, and have a loss and an "
                           "optimizer.")


def _target_type(y):
    target_type = type_of_target(y)
    if target_type == "unknown":
        raise ValueError(f"Unknown label type for data: {y!r}")
    return target_type


class SKLBase(BaseEstimator):
    """What the three wrappers share: parameters, fit, predict."""

    def __init__(self, model, warm_start=False, model_kwargs=None, fit_kwargs=None):
        self.model = model
        self.warm_start = warm_start
        self.model_kwargs = model_kwargs
        self.fit_kwargs = fit_kwargs

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = True
        return tags

    def set_params(self, **params):
        """Sets parameters; ``model__name`` sets ``model_kwargs[name]`` and ``fit__name``
        sets ``fit_kwargs[name]`` (new dicts: the previous ones are not modified)."""
        routed = {"model": {}, "fit": {}}
        plain = {}
        for key, value in params.items():
            prefix, sep, name = key.partition("__")
            if sep and prefix in routed:
                routed[prefix][name] = value
            else:
                plain[key] = value
        if plain:
            super().set_params(**plain)
        if routed["model"]:
            self.model_kwargs = {**(self.model_kwargs or {}), **routed["model"]}
        if routed["fit"]:
            self.fit_kwargs = {**(self.fit_kwargs or {}), **routed["fit"]}
        return self

    @property
    def epoch_(self):
        return len(getattr(self, "history_", {}).get("loss", []))

    def _get_model(self, X, y):
        from .models import Model
        if isinstance(self.model, Model):
            from .models import clone_model
            from .saving import compile_from_config, get_compile_config
            clone = clone_model(self.model)
            compile_from_config(clone, copy.deepcopy(get_compile_config(self.model)))
            return clone
        if not callable(self.model):
            raise TypeError("`model` must be a function returning a compiled model, or a "
                            f"compiled keras Model; got {type(self.model).__name__}")
        return self.model(X=X, y=y, **(self.model_kwargs or {}))

    def fit(self, X, y, **kwargs):
        """Builds the model (``model(X=X, y=y, **model_kwargs)``) and trains it with
        ``fit_kwargs`` updated by ``kwargs``."""
        warm = self.warm_start and hasattr(self, "model_")
        X, y = validate_data(self, X, y, reset=not warm)
        y = self._process_target(y, reset=not warm)
        model = self.model_ if warm else self._get_model(X, y)
        _check_model(model)
        fit_kwargs = {**(self.fit_kwargs or {}), **kwargs}
        history = model.fit(X, y, **fit_kwargs)
        self.history_ = dict(history.history) if history is not None else {}
        self.model_ = model
        return self

    def predict(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        raw_output = self.model_.predict(X, verbose=0)
        return self._reverse_process_target(raw_output)

    def _process_target(self, y, reset=False):
        _target_type(y)
        if reset:
            self._target_encoder = TargetReshaper().fit(y)
        return self._target_encoder.transform(y)

    def _reverse_process_target(self, y):
        return self._target_encoder.inverse_transform(y)


class SKLearnClassifier(ClassifierMixin, SKLBase):
    """A Keras classifier as a scikit-learn classifier: labels of any type are one-hot
    encoded (``classes_`` in sorted order), the model's output is read as one score per
    class, and ``predict`` returns the class with the highest score."""

    def _process_target(self, y, reset=False):
        target_type = _target_type(y)
        if target_type not in ("binary", "multiclass"):
            raise ValueError("Only binary and multiclass target types are supported. Target "
                             f"type: {target_type}")
        if reset:
            self._target_encoder = make_pipeline(
                TargetReshaper(), OneHotEncoder(sparse_output=False)).fit(y)
            self.classes_ = np.unique(y)
            if len(self.classes_) == 1:
                raise ValueError("Classifier can't train when only one class is present.")
        return self._target_encoder.transform(y)

    def decision_function(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        return self.model_.predict(X, verbose=0)

    def predict_proba(self, X):
        """The model's output, one column per class of ``classes_`` (a single sigmoid
        column p becomes [1 - p, p])."""
        proba = np.asarray(self.decision_function(X), dtype=np.float64)
        if proba.ndim == 1 or proba.shape[1] == 1:
            p = proba.reshape(-1)
            proba = np.stack([1 - p, p], axis=1)
        return proba

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.poor_score = True
        return tags


class SKLearnRegressor(RegressorMixin, SKLBase):
    """A Keras regressor as a scikit-learn regressor (``score`` is R^2)."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.regressor_tags.poor_score = True
        return tags


class SKLearnTransformer(TransformerMixin, SKLBase):
    """A Keras model as a scikit-learn transformer: ``transform`` is the model's output."""

    def transform(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        return self.model_.predict(X, verbose=0)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = []
        return tags


# The names the book (and scikeras) use.
KerasClassifier = SKLearnClassifier
KerasRegressor = SKLearnRegressor
