"""``keras.callbacks``: hooks into fit/evaluate/predict, History and the progress bar."""
import numpy as np

from .utils.progbar import Progbar

__all__ = ["Callback", "CallbackList", "History", "ProgbarLogger"]


class Callback:
    """Base class: every hook receives ``logs`` (a dict of floats) and may read
    ``self.model`` and ``self.params``."""

    def __init__(self):
        self.model = None
        self.params = {}

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def on_train_begin(self, logs=None): pass
    def on_train_end(self, logs=None): pass
    def on_epoch_begin(self, epoch, logs=None): pass
    def on_epoch_end(self, epoch, logs=None): pass
    def on_train_batch_begin(self, batch, logs=None): pass
    def on_train_batch_end(self, batch, logs=None): pass
    def on_test_begin(self, logs=None): pass
    def on_test_end(self, logs=None): pass
    def on_test_batch_begin(self, batch, logs=None): pass
    def on_test_batch_end(self, batch, logs=None): pass
    def on_predict_begin(self, logs=None): pass
    def on_predict_end(self, logs=None): pass
    def on_predict_batch_begin(self, batch, logs=None): pass
    def on_predict_batch_end(self, batch, logs=None): pass
    # Keras 2 names, still called by the book's callbacks.
    def on_batch_begin(self, batch, logs=None): pass
    def on_batch_end(self, batch, logs=None): pass


_HOOKS = [name for name in vars(Callback) if name.startswith("on_")]


class CallbackList:
    """Calls a hook on every callback, in order; hooks no callback overrides cost nothing."""

    def __init__(self, callbacks=None, model=None, add_history=False, add_progbar=False,
                 **params):
        self.callbacks = list(callbacks or [])
        if add_progbar and not any(isinstance(c, ProgbarLogger) for c in self.callbacks):
            self.callbacks.append(ProgbarLogger())
        self.history = None
        if add_history:
            self.history = next((c for c in self.callbacks if isinstance(c, History)), None)
            if self.history is None:
                self.history = History()
                self.callbacks.append(self.history)
        for c in self.callbacks:
            c.set_model(model)
            c.set_params(params)
        for hook in _HOOKS:
            active = [getattr(c, hook) for c in self.callbacks
                      if getattr(type(c), hook, None) is not getattr(Callback, hook)]
            legacy = {"on_train_batch_begin": "on_batch_begin",
                      "on_train_batch_end": "on_batch_end"}.get(hook)
            if legacy:
                active += [getattr(c, legacy) for c in self.callbacks
                           if getattr(type(c), legacy) is not getattr(Callback, legacy)]
            setattr(self, hook, self._caller(active) if active else _nothing)

    @staticmethod
    def _caller(functions):
        def call(*args, **kwargs):
            for f in functions:
                f(*args, **kwargs)
        return call

    def __iter__(self):
        return iter(self.callbacks)


def _nothing(*args, **kwargs):
    return None


class History(Callback):
    """Records each epoch's logs: ``history.history["loss"]`` and so on."""

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)


class ProgbarLogger(Callback):
    """Keras' progress display: ``verbose=1`` a bar per epoch, ``verbose=2`` one line."""

    def __init__(self, count_mode="steps"):
        super().__init__()
        self.progbar = None
        self.verbose = 1
        self.epochs = 1
        self.target = None

    def set_params(self, params):
        super().set_params(params)
        self.verbose = params.get("verbose", 1)
        self.epochs = params.get("epochs", 1)
        self.target = params.get("steps")

    def _reset(self):
        self.progbar = Progbar(self.target, verbose=self.verbose, unit_name="step")

    def on_epoch_begin(self, epoch, logs=None):
        if self.verbose and self.epochs > 1:
            print(f"Epoch {epoch + 1}/{self.epochs}", flush=True)
        self._reset()

    def on_train_batch_end(self, batch, logs=None):
        self.progbar.update(batch + 1, _finite_items(logs))

    def on_epoch_end(self, epoch, logs=None):
        self.progbar.update(self.progbar.seen_so_far, _finite_items(logs), finalize=True)

    def on_test_begin(self, logs=None):
        if not self.model or not getattr(self.model, "_fitting", False):
            self._reset()

    def on_test_batch_end(self, batch, logs=None):
        if not getattr(self.model, "_fitting", False):
            self.progbar.update(batch + 1, _finite_items(logs))

    def on_test_end(self, logs=None):
        if not getattr(self.model, "_fitting", False):
            self.progbar.update(self.progbar.seen_so_far, _finite_items(logs), finalize=True)

    def on_predict_begin(self, logs=None):
        self._reset()

    def on_predict_batch_end(self, batch, logs=None):
        self.progbar.update(batch + 1)

    def on_predict_end(self, logs=None):
        self.progbar.update(self.progbar.seen_so_far, finalize=True)


def _finite_items(logs):
    return [(k, v) for k, v in (logs or {}).items() if np.ndim(v) == 0]
