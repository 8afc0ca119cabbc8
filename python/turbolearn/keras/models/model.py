"""``keras.Model``: subclassed and functional models, compile/fit/evaluate/predict.

A training step is: the forward pass recorded on a GradientTape (one fused op per Dense
layer), the compiled losses (the fused softmax cross-entropy when the output is a softmax),
``tape.gradient`` over the trainable weights, one optimizer update per weight, and metric
updates on plain arrays. Everything else (batching, callbacks, progress) runs once per batch
in Python and is kept small.
"""
import copy

import numpy as np

from .. import callbacks as callbacks_module
from .._tensor import GradientTape, Tensor, _flatten, _pack_like, value_of
from ..layers.layer import InputLayer, KerasTensor, Layer, structure_changed
from . import _data
from .summary import print_summary

__all__ = ["Functional", "Model"]


def _numpy(x):
    v = value_of(x)
    return v if isinstance(v, np.ndarray) else np.asarray(v)


class Model(Layer):
    """A layer with training: subclass it (``call``), or give ``Model(inputs, outputs)``."""

    def __new__(cls, *args, **kwargs):
        if cls is Model and (len(args) >= 2 or "inputs" in kwargs or "outputs" in kwargs):
            return super().__new__(Functional)
        return super().__new__(cls)

    def __init__(self, *, name=None, trainable=True, **kwargs):
        super().__init__(name=name, trainable=trainable, **kwargs)
        self.compiled = False
        self.optimizer = None
        self.stop_training = False
        self.history = None
        self._fitting = False

    def _maybe_build(self, shapes):
        if not self.built:
            self._build_shapes = shapes
            if type(self).build is not Model.build:
                self.build(shapes[0] if len(shapes) == 1 else shapes)
            self.built = True

    def build(self, input_shape):
        """Creates the weights by running the model once on zeros of ``input_shape``."""
        if self.built and self.weights:
            return
        shape = tuple(1 if d is None else d for d in input_shape)
        self._build_shapes = [tuple(input_shape)]
        self.built = True
        self(np.zeros(shape, dtype=self.dtype), training=False)

    @property
    def layers(self):
        return list(self._layers)

    def get_layer(self, name=None, index=None):
        if index is not None:
            if name is not None:
                raise ValueError("Provide either a layer name or a layer index, not both")
            if not 0 <= index < len(self.layers):
                raise ValueError(f"Was asked to retrieve layer at index {index} but model only "
                                 f"has {len(self.layers)} layers.")
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No such layer: {name}. Existing layers are: "
                         f"{[layer.name for layer in self.layers]}.")

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False,
                show_trainable=False, layer_range=None):
        print_summary(self, line_length=line_length, print_fn=print_fn,
                      expand_nested=expand_nested, show_trainable=show_trainable)

    # --- compile ---------------------------------------------------------------------------

    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None,
                weighted_metrics=None, run_eagerly=False, steps_per_execution=1,
                jit_compile="auto", auto_scale_loss=True):
        from .. import optimizers
        self.optimizer = optimizers.get(optimizer)
        self._loss_config = loss
        self._loss_weights_config = loss_weights
        self._metrics_config = metrics
        self._weighted_metrics_config = weighted_metrics
        self.run_eagerly = run_eagerly
        self._compiled_state = None  # resolved on the first batch, when y's shapes are known
        self.compiled = True

    def _output_names(self, n=1):
        """Names of the outputs in logs ("<name>_loss"): subclassed models number them."""
        return ["output"] if n == 1 else [f"output_{i + 1}" for i in range(n)]

    def _per_output(self, config, n, kind):
        """config (one for all, a list, or a dict by output name) as one entry per output."""
        names = self._output_names(n)
        if isinstance(config, dict):
            unknown = set(config) - set(names)
            if unknown:
                raise ValueError(f"Unknown output name(s) {sorted(unknown)} in the {kind} "
                                 f"dict; the model's outputs are {names}")
            return [config.get(name) for name in names]
        if isinstance(config, (list, tuple)) and n > 1:
            if len(config) != n:
                raise ValueError(f"The model has {n} outputs but {kind} has {len(config)} "
                                 "entries")
            return list(config)
        return [config] * n

    def _compile_state(self, y, y_pred):
        """Losses, loss weights and metrics per output, resolved against y and y_pred."""
        from .. import losses, metrics
        ys, preds = _flatten(y), _flatten(y_pred)
        n = len(preds)
        loss_cfg = self._per_output(self._loss_config, n, "loss")
        weights = ([1.0] * n if self._loss_weights_config is None
                   else self._per_output(self._loss_weights_config, n, "loss_weights"))
        loss_fns = [None if c is None else losses.get(c) for c in loss_cfg]
        loss_objects = [fn if fn is None or isinstance(fn, losses.Loss) else
                        losses.LossFunctionWrapper(fn, name=getattr(fn, "__name__", None))
                        for fn in loss_fns]

        def metric_lists(config):
            if config is None:
                return [[] for _ in range(n)]
            if isinstance(config, dict):
                per = self._per_output(config, n, "metrics")
            elif n > 1 and isinstance(config, (list, tuple)) and config and \
                    all(isinstance(c, (list, tuple)) for c in config):
                per = list(config)
            else:
                per = [config] * n
            out = []
            for i, entry in enumerate(per):
                entry = [] if entry is None else entry if isinstance(entry, (list, tuple)) \
                    else [entry]
                made = []
                for m in entry:
                    metric = metrics.get_for_model(
                        m if n == 1 or isinstance(m, str) else copy.deepcopy(m),
                        loss_fns[i], ys[i] if i < len(ys) else None, preds[i])
                    if n > 1:
                        metric.name = f"{self._output_names(n)[i]}_{metric.name}"
                    made.append(metric)
                out.append(made)
            return out
        return {"losses": loss_objects, "weights": weights,
                "metrics": metric_lists(self._metrics_config),
                "weighted_metrics": metric_lists(self._weighted_metrics_config),
                "loss_tracker": metrics.Mean(name="loss"),
                "output_trackers": [metrics.Mean(name=f"{name}_loss")
                                    for name in self._output_names(n)] if n > 1 else []}

    @property
    def metrics(self):
        state = getattr(self, "_compiled_state", None)
        if not state:
            return []
        out = [state["loss_tracker"]] + state["output_trackers"]
        for group in ("metrics", "weighted_metrics"):
            out += [m for ms in state[group] for m in ms]
        return out

    @property
    def metrics_names(self):
        return [m.name for m in self.metrics]

    def reset_metrics(self):
        for m in self.metrics:
            m.reset_state()

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The total loss: the weighted compiled losses plus the layers' own losses."""
        state = self._compiled_state
        total = None
        batch = len(_flatten(y_pred)[0])
        for i, (fn, w, target, pred) in enumerate(zip(state["losses"], state["weights"],
                                                      _flatten(y), _flatten(y_pred))):
            if fn is None:
                continue
            value = fn(target, pred, sample_weight=sample_weight)
            if state["output_trackers"]:
                state["output_trackers"][i].update_state(_numpy(value), sample_weight=batch)
            if w != 1:
                value = value * w
            total = value if total is None else total + value
        for extra in self.losses:
            total = extra if total is None else total + extra
        if total is None:
            raise ValueError("No loss to compute: pass `loss=` to compile() or add losses "
                             "with add_loss() in call()")
        return total

    def _update_metrics(self, y, y_pred, sample_weight, loss, batch):
        state = self._compiled_state
        state["loss_tracker"].update_state(_numpy(loss), sample_weight=batch)
        for target, pred, ms, wms in zip(_flatten(y), _flatten(y_pred), state["metrics"],
                                         state["weighted_metrics"]):
            for m in ms:
                m.update_state(target, pred)
            for m in wms:
                m.update_state(target, pred, sample_weight=sample_weight)

    def _logs(self):
        logs = {m.name: float(_numpy(m.result())) for m in self.metrics}
        return dict(sorted(logs.items()))

    # --- steps ------------------------------------------------------------------------------

    def _ensure_compiled(self, y, x):
        if not self.compiled:
            raise RuntimeError("You must call `compile()` before using the model for "
                               "training or evaluation.")
        if self._compiled_state is None:
            y_pred = self(x, training=False)
            self._compiled_state = self._compile_state(y, y_pred)

    def train_step(self, data):
        x, y, sample_weight = _data.unpack(data)
        with GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(x, y, y_pred, sample_weight)
        variables = self.trainable_weights
        grads = tape.gradient(loss, variables)
        self.optimizer.apply(grads, variables)
        self._update_metrics(y, y_pred, sample_weight, loss, len(_flatten(x)[0]))
        return self._logs()

    def test_step(self, data):
        x, y, sample_weight = _data.unpack(data)
        y_pred = self(x, training=False)
        loss = self.compute_loss(x, y, y_pred, sample_weight, training=False)
        self._update_metrics(y, y_pred, sample_weight, loss, len(_flatten(x)[0]))
        return self._logs()

    def predict_step(self, data):
        x, _, _ = _data.unpack(data)
        return self(x, training=False)

    # --- loops ------------------------------------------------------------------------------

    def _batches(self, x, y, sample_weight, batch_size, shuffle, steps=None, epoch_seed=None):
        """(x, y, sw) batches of arrays (a permutation when shuffling), or the batches of an
        iterable dataset."""
        if _data.is_batch_iterable(x):
            iterator = iter(x)
            for i, batch in enumerate(iterator):
                if steps is not None and i >= steps:
                    break
                bx, by, bsw = _data.unpack(batch)
                yield _data.to_arrays(bx), _data.to_arrays(by), _data.to_arrays(bsw)
            return
        n = _data.n_samples(x, y, sample_weight)
        order = np.random.default_rng(epoch_seed).permutation(n) if shuffle else None
        n_batches = -(-n // batch_size)
        for i in range(n_batches if steps is None else min(steps, n_batches)):
            index = (order[i * batch_size:(i + 1) * batch_size] if shuffle
                     else slice(i * batch_size, (i + 1) * batch_size))
            yield (_data.take(x, index), _data.take(y, index),
                   _data.take(sample_weight, index))

    def _steps(self, x, batch_size, steps):
        if steps is not None:
            return steps
        if _data.is_batch_iterable(x):
            return len(x) if hasattr(x, "__len__") else None
        return -(-_data.n_samples(x) // batch_size)

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None, validation_freq=1):
        """Trains for ``epochs`` passes over the data; returns the History."""
        from .. import random
        batch_size = 32 if batch_size is None else int(batch_size)
        verbose = 1 if verbose == "auto" else verbose
        iterable = _data.is_batch_iterable(x)
        if not iterable:
            x, y, sample_weight = (_data.to_arrays(x), _data.to_arrays(y),
                                   _data.to_arrays(sample_weight))
            _data.n_samples(x, y, sample_weight)
            if validation_split and validation_data is None:
                (x, y, sample_weight), validation_data = _data.split_validation(
                    x, y, sample_weight, validation_split)
            if class_weight is not None:
                sw = _data.class_weights_to_sample_weight(_flatten(y)[0], class_weight)
                sample_weight = sw if sample_weight is None else sample_weight * sw
        if validation_data is not None and not _data.is_batch_iterable(validation_data):
            vx, vy, vsw = _data.unpack(tuple(validation_data))
            validation_data = (_data.to_arrays(vx), _data.to_arrays(vy),
                               _data.to_arrays(vsw))
        first = next(self._batches(x, y, sample_weight, batch_size, False, steps=1))
        self._ensure_compiled(first[1], first[0])
        steps = self._steps(x, batch_size, steps_per_epoch)
        cbs = callbacks_module.CallbackList(callbacks, model=self, add_history=True,
                                            add_progbar=bool(verbose), verbose=verbose,
                                            epochs=epochs, steps=steps)
        self.stop_training = False
        self._fitting = True
        logs = {}
        try:
            cbs.on_train_begin()
            for epoch in range(initial_epoch, epochs):
                self.reset_metrics()
                cbs.on_epoch_begin(epoch)
                logs = {}
                for step, batch in enumerate(self._batches(
                        x, y, sample_weight, batch_size, shuffle, steps_per_epoch,
                        random.seed_generator().integers(2**31))):
                    cbs.on_train_batch_begin(step)
                    logs = self.train_step(batch)
                    cbs.on_train_batch_end(step, logs)
                    if self.stop_training:
                        break
                epoch_logs = dict(logs)
                if validation_data is not None and (epoch + 1) % validation_freq == 0:
                    val_logs = self.evaluate(
                        *validation_data[:2] if not _data.is_batch_iterable(validation_data)
                        else (validation_data,),
                        sample_weight=None if _data.is_batch_iterable(validation_data)
                        else validation_data[2],
                        batch_size=validation_batch_size or batch_size, verbose=0,
                        steps=validation_steps, return_dict=True, _callbacks=cbs)
                    epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
                cbs.on_epoch_end(epoch, epoch_logs)
                logs = epoch_logs
                if self.stop_training:
                    break
            cbs.on_train_end(logs)
        finally:
            self._fitting = False
        self.history = cbs.history
        return cbs.history

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 steps=None, callbacks=None, return_dict=False, _callbacks=None):
        """The loss and metrics over the data: a scalar when there are none but the loss, else
        a list in ``metrics_names`` order (a dict with ``return_dict=True``)."""
        batch_size = 32 if batch_size is None else int(batch_size)
        verbose = 1 if verbose == "auto" else verbose
        if not _data.is_batch_iterable(x):
            x, y, sample_weight = (_data.to_arrays(x), _data.to_arrays(y),
                                   _data.to_arrays(sample_weight))
        first = next(self._batches(x, y, sample_weight, batch_size, False, steps=1))
        self._ensure_compiled(first[1], first[0])
        cbs = _callbacks or callbacks_module.CallbackList(
            callbacks, model=self, add_progbar=bool(verbose), verbose=verbose, epochs=1,
            steps=self._steps(x, batch_size, steps))
        self.reset_metrics()
        cbs.on_test_begin()
        logs = {}
        for step, batch in enumerate(self._batches(x, y, sample_weight, batch_size, False,
                                                   steps)):
            cbs.on_test_batch_begin(step)
            logs = self.test_step(batch)
            cbs.on_test_batch_end(step, logs)
        cbs.on_test_end(logs)
        if return_dict:
            return logs
        values = [logs[m.name] for m in self.metrics]
        return values[0] if len(values) == 1 else values

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """The model's outputs on x, batch by batch, as NumPy arrays."""
        batch_size = 32 if batch_size is None else int(batch_size)
        verbose = 1 if verbose == "auto" else verbose
        if not _data.is_batch_iterable(x):
            x = _data.to_arrays(x)
        cbs = callbacks_module.CallbackList(callbacks, model=self, add_progbar=bool(verbose),
                                            verbose=verbose, epochs=1,
                                            steps=self._steps(x, batch_size, steps))
        cbs.on_predict_begin()
        outputs = []
        for step, batch in enumerate(self._batches(x, None, None, batch_size, False, steps)):
            cbs.on_predict_batch_begin(step)
            outputs.append([_numpy(o) for o in _flatten(self.predict_step(batch))])
            cbs.on_predict_batch_end(step, {"outputs": outputs[-1]})
        cbs.on_predict_end()
        if not outputs:
            raise ValueError("predict() got no data")
        merged = [np.concatenate(parts) for parts in zip(*outputs)]
        return merged[0] if len(merged) == 1 else merged

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None,
                       return_dict=False):
        x, y, sample_weight = (_data.to_arrays(x), _data.to_arrays(y),
                               _data.to_arrays(sample_weight))
        if class_weight is not None:
            sw = _data.class_weights_to_sample_weight(_flatten(y)[0], class_weight)
            sample_weight = sw if sample_weight is None else sample_weight * sw
        self._ensure_compiled(y, x)
        self.reset_metrics()
        logs = self.train_step((x, y, sample_weight))
        return logs if return_dict else _logs_list(self, logs)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        x, y, sample_weight = (_data.to_arrays(x), _data.to_arrays(y),
                               _data.to_arrays(sample_weight))
        self._ensure_compiled(y, x)
        self.reset_metrics()
        logs = self.test_step((x, y, sample_weight))
        return logs if return_dict else _logs_list(self, logs)

    def predict_on_batch(self, x):
        out = self(_data.to_arrays(x), training=False)
        leaves = [_numpy(o) for o in _flatten(out)]
        return leaves[0] if len(leaves) == 1 else leaves

    # --- persistence (keras.saving) -----------------------------------------------------------

    def save(self, filepath, overwrite=True, **kwargs):
        from ..saving import save_model
        save_model(self, filepath, overwrite=overwrite, **kwargs)

    def get_compile_config(self):
        from ..saving import get_compile_config
        return get_compile_config(self)

    def compile_from_config(self, config):
        from ..saving import compile_from_config
        compile_from_config(self, config)

    def save_weights(self, filepath, overwrite=True):
        from ..saving import save_weights
        save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath, skip_mismatch=False, **kwargs):
        from ..saving import load_weights
        load_weights(self, filepath, skip_mismatch=skip_mismatch)

    def get_config(self):
        return {"name": self.name, "trainable": self.trainable}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        if "input_layers" in config and "output_layers" in config:
            return Functional.from_config(config, custom_objects)
        return cls(**config)


def _logs_list(model, logs):
    values = [logs[m.name] for m in model.metrics]
    return values[0] if len(values) == 1 else values


class Functional(Model):
    """A model defined by its inputs and outputs: the graph of layer calls between them."""

    def __init__(self, inputs, outputs, name=None, trainable=True, **kwargs):
        super().__init__(name=name, trainable=trainable, **kwargs)
        self._init_graph(inputs, outputs)

    def _init_graph(self, inputs, outputs):
        self._inputs_struct = inputs
        self._outputs_struct = outputs
        self.inputs = _flatten(inputs)
        self.outputs = _flatten(outputs)
        for t in self.inputs + self.outputs:
            if not isinstance(t, KerasTensor):
                raise ValueError("Model inputs and outputs must be KerasTensors (from "
                                 f"keras.Input and layer calls), got {type(t).__name__}")
        self._nodes = _nodes_between(self.inputs, self.outputs)
        layers = []
        for node in self._nodes:
            if not any(node.layer is layer for layer in layers):
                layers.append(node.layer)
        object.__setattr__(self, "_layers", layers)
        structure_changed()
        self.built = True
        self._build_shapes = [t.shape for t in self.inputs]
        if len(self.inputs) == 1:
            self._batch_input_shape = self.inputs[0].shape  # lets an enclosing Sequential build

    def _output_names(self, n=1):
        names = []
        for t in self.outputs:
            layer = t._keras_history[0]
            names.append(layer.name)
        if isinstance(self._outputs_struct, dict):
            return list(self._outputs_struct)
        return names

    @property
    def input(self):
        return self._inputs_struct

    @property
    def output(self):
        return self._outputs_struct

    @property
    def input_shape(self):
        shapes = [t.shape for t in self.inputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self):
        shapes = [t.shape for t in self.outputs]
        return shapes[0] if len(shapes) == 1 else shapes

    def _assign_inputs(self, inputs):
        """Maps each input KerasTensor (by id) to the value given for it."""
        if isinstance(self._inputs_struct, dict):
            if not isinstance(inputs, dict):
                raise ValueError(f"Model {self.name!r} expects a dict of inputs with keys "
                                 f"{list(self._inputs_struct)}")
            values = [inputs[k] for k in self._inputs_struct]
        elif isinstance(inputs, dict):
            by_name = {t._keras_history[0].name: t for t in self.inputs}
            missing = [n for n in by_name if n not in inputs]
            if missing:
                raise ValueError(f"Model {self.name!r}: missing input(s) {missing}")
            values = [inputs[t._keras_history[0].name] for t in self.inputs]
        else:
            values = _flatten(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        if len(values) != len(self.inputs):
            raise ValueError(f"Model {self.name!r} expects {len(self.inputs)} input(s), but "
                             f"it received {len(values)} input tensors")
        env = {}
        for i, (t, v) in enumerate(zip(self.inputs, values)):
            shape = tuple(np.shape(value_of(v)) if not hasattr(v, "shape") else v.shape)
            if len(shape) != len(t.shape) or any(
                    a is not None and a != b for a, b in zip(t.shape, shape)):
                raise ValueError(f"Input {i} of layer {self.name!r} is incompatible with the "
                                 f"layer: expected shape={t.shape}, found shape={shape}")
            env[id(t)] = v if isinstance(v, Tensor) or hasattr(v, "value") else \
                _data.to_arrays(v)
        return env

    def call(self, inputs, training=None, mask=None):
        env = self._assign_inputs(inputs)
        for node in self._nodes:
            if isinstance(node.layer, InputLayer):
                continue
            args, kwargs = _pack_like((node.args, node.kwargs), iter(
                [env[id(a)] if isinstance(a, KerasTensor) else a
                 for a in _flatten((node.args, node.kwargs))]))
            outputs = node.layer(*args, **kwargs)
            for t, v in zip(_flatten(node.outputs), _flatten(outputs)):
                env[id(t)] = v
        return _pack_like(self._outputs_struct, iter([env[id(t)] for t in self.outputs]))

    def compute_output_spec(self, *args, **kwargs):
        return _pack_like(self._outputs_struct,
                          iter([KerasTensor(t.shape, t.dtype) for t in self.outputs]))

    def get_config(self):
        from .functional_config import functional_config
        return functional_config(self)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from .functional_config import functional_from_config
        return functional_from_config(Functional if cls is Model else cls, config,
                                      custom_objects)


def _nodes_between(inputs, outputs):
    """The layer calls from the inputs to the outputs, each after the calls it depends on."""
    order, state = [], {}
    input_ids = {id(t) for t in inputs}
    for out in outputs:
        stack = [(out, False)]
        while stack:
            tensor, done = stack.pop()
            layer, index, _ = tensor._keras_history
            node = layer._inbound_nodes[index]
            key = id(node)
            if done:
                if state.get(key) != "done":
                    state[key] = "done"
                    order.append(node)
                continue
            if state.get(key) is not None:
                continue
            state[key] = "open"
            stack.append((tensor, True))
            if id(tensor) in input_ids or isinstance(layer, InputLayer):
                if not isinstance(layer, InputLayer) and id(tensor) not in input_ids:
                    raise ValueError("Graph disconnected")
                continue
            for t in node.input_tensors():
                if t._keras_history is None:
                    raise ValueError(f"A tensor given to layer {layer.name!r} was not made by "
                                     "keras.Input or a layer call")
                stack.append((t, False))
    for node in order:
        if isinstance(node.layer, InputLayer) and not any(
                node.outputs is t for t in inputs):
            raise ValueError(f"Graph disconnected: cannot obtain the value of "
                             f"{node.outputs.name!r}, which is not among the model's inputs")
    inputs_first = [n for t in inputs for n in order if n.outputs is t]
    return inputs_first + [n for n in order if not any(n is m for m in inputs_first)]
