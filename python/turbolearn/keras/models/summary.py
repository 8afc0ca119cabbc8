"""``Model.summary()`` in Keras 3's layout: a box-drawn table, then the parameter totals."""
import numpy as np

from ..layers.layer import InputLayer


def _readable_size(n_bytes):
    for unit in ("B", "KB", "MB", "GB"):
        if n_bytes < 1024 or unit == "GB":
            return f"{n_bytes:.2f} {unit}"
        n_bytes /= 1024


def _count(weights):
    return int(sum(int(np.prod(w.shape)) for w in weights)), \
        int(sum(w.value.nbytes for w in weights))


def _shape_str(shape):
    if isinstance(shape, list):
        return "[" + ", ".join(_shape_str(s) for s in shape) + "]"
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + \
        ("," if len(shape) == 1 else "") + ")"


def _rows(model):
    """(name (type), output shape, params, connected-to) for each layer of the model."""
    rows = []
    nodes = getattr(model, "_nodes", None)
    if nodes is not None:  # functional
        for node in nodes:
            layer = node.layer
            if isinstance(layer, InputLayer):
                shape = _shape_str(node.outputs.shape)
                rows.append((f"{layer.name} ({type(layer).__name__})", shape, "0", "-"))
                continue
            outs = [t.shape for t in _leaves(node.outputs)]
            shape = _shape_str(outs[0] if len(outs) == 1 else outs)
            sources = []
            for t in node.input_tensors():
                src, index, tensor_index = t._keras_history
                sources.append(f"{src.name}[{index}][{tensor_index}]")
            rows.append((f"{layer.name} ({type(layer).__name__})", shape,
                         f"{layer.count_params():,}" if layer.built else "0",
                         ", ".join(sources) or "-"))
        return rows, True
    outputs = getattr(model, "_layer_outputs", [])
    for i, layer in enumerate(model.layers):
        shape = _shape_str(outputs[i].shape) if i < len(outputs) else "?"
        params = f"{layer.count_params():,}" if layer.built else "0 (unbuilt)"
        rows.append((f"{layer.name} ({type(layer).__name__})", shape, params, None))
    return rows, False


def _leaves(structure):
    from .._tensor import _flatten
    return _flatten(structure)


def print_summary(model, line_length=None, print_fn=None, expand_nested=False,
                  show_trainable=False):
    print_fn = print_fn or print
    rows, functional = _rows(model)
    headers = ["Layer (type)", "Output Shape", "Param #"] + (["Connected to"] if functional else [])
    widths = [max(31, *(len(r[0]) + 2 for r in rows)) if rows else 31, 24, 15]
    if functional:
        widths = [max(20, *(len(r[0]) + 2 for r in rows)) if rows else 20, 20, 11,
                  max(20, *(len(r[3]) + 2 for r in rows)) if rows else 20]
    widths[1] = max(widths[1], *(len(r[1]) + 2 for r in rows)) if rows else widths[1]

    def line(cells, left, mid, right, align):
        out = []
        for cell, width, a in zip(cells, widths, align):
            text = f" {cell} "
            out.append(text.rjust(width) if a == ">" else text.ljust(width))
        return left + mid.join(out) + right

    def rule(left, mid, right, fill):
        return left + mid.join(fill * w for w in widths) + right

    align = ["<", "<", ">", "<"][:len(widths)]
    lines = [f'Model: "{model.name}"', rule("┏", "┳", "┓", "━"),
             line(headers, "┃", "┃", "┃", align), rule("┡", "╇", "┩", "━")]
    for i, r in enumerate(rows):
        lines.append(line([c for c in r if c is not None], "│", "│", "│", align))
        lines.append(rule("├", "┼", "┤", "─") if i < len(rows) - 1 else
                     rule("└", "┴", "┘", "─"))
    if not rows:
        lines.append(rule("└", "┴", "┘", "─"))
    total, total_bytes = _count(model.weights)
    trainable, trainable_bytes = _count(model.trainable_weights)
    frozen, frozen_bytes = _count(model.non_trainable_weights)
    lines.append(f" Total params: {total:,} ({_readable_size(total_bytes)})")
    lines.append(f" Trainable params: {trainable:,} ({_readable_size(trainable_bytes)})")
    lines.append(f" Non-trainable params: {frozen:,} ({_readable_size(frozen_bytes)})")
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None and getattr(optimizer, "variables", None):
        n, n_bytes = _count([v for v in optimizer.variables if hasattr(v, "value")])
        if n:
            lines.append(f" Optimizer params: {n:,} ({_readable_size(n_bytes)})")
    for text in lines:
        print_fn(text)
