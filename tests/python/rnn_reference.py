"""References for the rnn op family's tests: Keras 3's cell equations and its backend rnn()
loop written in torch (float64, autograd for every gradient), and the conversion of Keras
weights to torch's nn.RNN / nn.LSTM / nn.GRU.

The loop is Keras' ``backend.rnn`` (torch backend, unroll=False) step for step: a masked step
keeps the states, its output is the previous output (zeros at first) or zeros with
``zero_output_for_mask``; ``go_backwards`` reverses the inputs and returns the outputs in
processing order. The cells follow keras/src/layers/rnn/{simple_rnn,lstm,gru}.py, with the
dropout masks applied per gate when they are given per gate (implementation 1).
"""
import numpy as np
import torch

GATES = {"simple_rnn": 1, "lstm": 4, "gru": 3}


def activation(name):
    return {
        "linear": lambda z: z,
        "relu": torch.relu,
        "sigmoid": torch.sigmoid,
        "tanh": torch.tanh,
        # torch.nn.functional.hardsigmoid (what Keras calls) in value; its float64 backward
        # uses a float32 1/6 (3e-8 off), so the reference takes the slope from clamp
        "hard_sigmoid": lambda z: torch.clamp(z + 3, 0, 6) / 6,
    }[name]


def _per_gate(mask, gates):
    """A dropout mask as one array per gate (None: no mask)."""
    if mask is None:
        return [None] * gates
    return list(mask) if mask.ndim == 3 else [mask] * gates


def _times(a, m):
    return a if m is None else a * m


def _cell_step(cell, xt, h, c, w, act, rec_act, reset_after, dmasks, rmasks):
    kernel, recurrent, bias = w
    units = recurrent.shape[0]
    gates = GATES[cell]
    split = lambda m: [m[:, g * units:(g + 1) * units] for g in range(gates)]  # noqa: E731
    ks, us = split(kernel), split(recurrent)
    if bias is None:
        b_in = b_rec = [0.0] * gates
    elif cell == "gru" and reset_after:
        b_in = [bias[0, g * units:(g + 1) * units] for g in range(gates)]
        b_rec = [bias[1, g * units:(g + 1) * units] for g in range(gates)]
    else:
        b_in = [bias[g * units:(g + 1) * units] for g in range(gates)]
        b_rec = [0.0] * gates
    xz = [_times(xt, dmasks[g]) @ ks[g] + b_in[g] for g in range(gates)]
    hr = [_times(h, rmasks[g]) for g in range(gates)]
    if cell == "simple_rnn":
        out = act(xz[0] + hr[0] @ us[0])
        return out, None
    if cell == "lstm":
        i = rec_act(xz[0] + hr[0] @ us[0])
        f = rec_act(xz[1] + hr[1] @ us[1])
        c = f * c + i * act(xz[2] + hr[2] @ us[2])
        o = rec_act(xz[3] + hr[3] @ us[3])
        return o * act(c), c
    z = rec_act(xz[0] + hr[0] @ us[0] + b_rec[0])
    r = rec_act(xz[1] + hr[1] @ us[1] + b_rec[1])
    if reset_after:
        hh = act(xz[2] + r * (hr[2] @ us[2] + b_rec[2]))
    else:
        hh = act(xz[2] + (r * hr[2]) @ us[2])
    return z * h + (1 - z) * hh, None


def keras_rnn(cell, x, kernel, recurrent_kernel, bias=None, h0=None, c0=None, mask=None,
              dropout_mask=None, recurrent_dropout_mask=None, activation_name="tanh",
              recurrent_activation="sigmoid", reset_after=True, go_backwards=False,
              return_sequences=True, zero_output_for_mask=False, grads=None):
    """Keras' forward in float64 and, with ``grads = (d_outputs, d_h, d_c)`` (entries may be
    None), the gradients by autograd. Returns a dict of NumPy arrays: outputs, h, c and dx,
    dkernel, drecurrent_kernel, dbias, dh0, dc0."""
    def t64(a):
        return None if a is None else torch.tensor(np.asarray(a), dtype=torch.float64)
    n, steps, _ = x.shape
    units = recurrent_kernel.shape[0]
    leaves = {"x": t64(x), "kernel": t64(kernel), "recurrent_kernel": t64(recurrent_kernel),
              "bias": t64(bias),
              "h0": t64(h0) if h0 is not None else torch.zeros(n, units, dtype=torch.float64),
              "c0": t64(c0) if c0 is not None else torch.zeros(n, units, dtype=torch.float64)}
    for v in leaves.values():
        if v is not None:
            v.requires_grad_(True)
    gates = GATES[cell]
    dmasks = [t64(m) for m in _per_gate(dropout_mask, gates)]
    rmasks = [t64(m) for m in _per_gate(recurrent_dropout_mask, gates)]
    act, rec_act = activation(activation_name), activation(recurrent_activation)
    w = (leaves["kernel"], leaves["recurrent_kernel"], leaves["bias"])
    m = None if mask is None else torch.tensor(np.asarray(mask, bool))
    h, c = leaves["h0"], leaves["c0"]
    prev = torch.zeros(n, units, dtype=torch.float64)
    outs = []
    order = range(steps - 1, -1, -1) if go_backwards else range(steps)
    for time in order:
        new_h, new_c = _cell_step(cell, leaves["x"][:, time], h, c, w, act, rec_act, reset_after,
                                  dmasks, rmasks)
        if m is None:
            out, h = new_h, new_h
            c = new_c
        else:
            keep = m[:, time:time + 1]
            masked_out = torch.zeros_like(new_h) if zero_output_for_mask else prev
            out = torch.where(keep, new_h, masked_out)
            h = torch.where(keep, new_h, h)
            c = None if new_c is None else torch.where(keep, new_c, c)
        prev = out
        outs.append(out)
    outputs = torch.stack(outs, 1) if return_sequences else outs[-1]
    result = {"outputs": outputs.detach().numpy(), "h": h.detach().numpy(),
              "c": None if c is None or cell != "lstm" else c.detach().numpy()}
    if grads is None:
        return result
    d_outputs, d_h, d_c = (t64(g) for g in grads)
    loss = 0
    if d_outputs is not None:
        loss = loss + (outputs * d_outputs).sum()
    if d_h is not None:
        loss = loss + (h * d_h).sum()
    if d_c is not None and cell == "lstm":
        loss = loss + (c * d_c).sum()
    names = ["x", "kernel", "recurrent_kernel", "bias", "h0", "c0"]
    wanted = [leaves[k] for k in names if leaves[k] is not None]
    got = iter(torch.autograd.grad(loss, wanted, allow_unused=True))
    for k in names:
        g = next(got) if leaves[k] is not None else None
        if g is None and leaves[k] is not None:
            g = torch.zeros_like(leaves[k])
        result["d" + k] = None if g is None else g.numpy()
    if cell != "lstm":
        result["dc0"] = None
    return result


# Keras gate order -> torch's: LSTM i f c o is torch's i f g o; GRU z r h is torch's r z n.
_TORCH_ORDER = {"simple_rnn": [0], "lstm": [0, 1, 2, 3], "gru": [1, 0, 2]}


def torch_module(cell, kernel, recurrent_kernel, bias, dtype=torch.float64):
    """nn.RNN / nn.LSTM / nn.GRU (batch_first, tanh) holding the Keras weights: transposed,
    gates reordered; Keras' single LSTM / SimpleRNN bias goes to bias_ih (bias_hh = 0), a
    reset_after GRU's input and recurrent biases to bias_ih and bias_hh."""
    units = recurrent_kernel.shape[0]
    d = kernel.shape[0]
    cls = {"simple_rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell]
    module = cls(d, units, batch_first=True, bias=bias is not None).to(dtype)

    def reorder(m):  # (.., G h) Keras columns -> torch rows (G h, ..)
        blocks = [m[..., g * units:(g + 1) * units] for g in _TORCH_ORDER[cell]]
        return np.concatenate(blocks, axis=-1).T

    with torch.no_grad():
        module.weight_ih_l0.copy_(torch.tensor(reorder(kernel)))
        module.weight_hh_l0.copy_(torch.tensor(reorder(recurrent_kernel)))
        if bias is not None:
            b = np.asarray(bias)
            b_in, b_rec = (b[0], b[1]) if b.ndim == 2 else (b, np.zeros_like(b))
            module.bias_ih_l0.copy_(torch.tensor(reorder(b_in[None])[:, 0]))
            module.bias_hh_l0.copy_(torch.tensor(reorder(b_rec[None])[:, 0]))
    return module


def torch_module_gradients(cell, module, x, h0, c0, d_outputs, d_h, d_c):
    """The module's outputs and final states and, by autograd, the gradients, converted back to
    Keras' layout. Returns the same dict as keras_rnn (return_sequences outputs)."""
    tx = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    th0 = torch.tensor(h0, dtype=torch.float64)[None].requires_grad_(True)
    if cell == "lstm":
        tc0 = torch.tensor(c0, dtype=torch.float64)[None].requires_grad_(True)
        out, (hn, cn) = module(tx, (th0, tc0))
    else:
        out, hn = module(tx, th0)
    loss = (out * torch.tensor(d_outputs)).sum() + (hn[0] * torch.tensor(d_h)).sum()
    if cell == "lstm":
        loss = loss + (cn[0] * torch.tensor(d_c)).sum()
    loss.backward()
    units = module.hidden_size
    order = _TORCH_ORDER[cell]
    inverse = np.argsort(order)

    def keras_cols(m):  # torch rows (G h, ..) -> Keras columns (.., G h)
        mt = m.detach().numpy().T
        blocks = [mt[..., g * units:(g + 1) * units] for g in range(len(order))]
        return np.concatenate([blocks[i] for i in inverse], axis=-1)

    result = {"outputs": out.detach().numpy(), "h": hn[0].detach().numpy(),
              "c": cn[0].detach().numpy() if cell == "lstm" else None,
              "dx": tx.grad.numpy(), "dkernel": keras_cols(module.weight_ih_l0.grad),
              "drecurrent_kernel": keras_cols(module.weight_hh_l0.grad),
              "dh0": th0.grad[0].numpy(), "dc0": tc0.grad[0].numpy() if cell == "lstm" else None}
    if module.bias:
        b_in = keras_cols(module.bias_ih_l0.grad[:, None])[0]
        b_rec = keras_cols(module.bias_hh_l0.grad[:, None])[0]
        result["dbias_in"], result["dbias_rec"] = b_in, b_rec
    return result
