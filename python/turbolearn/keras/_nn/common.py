"""What the fused ops share: arrays in a kernel's dtype and layout, and Keras' argument
checks (the tuples, paddings and data formats of convolution and pooling layers and ops)."""
import numpy as np


def _contiguous(v, dtype):
    """v as a C-contiguous array of ``dtype`` (no copy when it already is one)."""
    if v.dtype != dtype or not v.flags.c_contiguous:
        return v.astype(dtype, order="C")
    return v


def standardize_tuple(value, n, name, allow_zero=False):
    """An int or n ints -> a tuple of n ints, with Keras' ValueError otherwise."""
    if isinstance(value, (int, np.integer)):
        values = (int(value),) * n
    else:
        try:
            values = tuple(value)
        except TypeError:
            raise ValueError(_tuple_error(value, n, name)) from None
        if len(values) != n:
            raise ValueError(_tuple_error(value, n, name))
        for v in values:
            try:
                int(v)
            except (ValueError, TypeError):
                raise ValueError(f"{_tuple_error(value, n, name)}including element {v} of type "
                                 f"{type(v)}") from None
        values = tuple(int(v) for v in values)
    bad = {v for v in values if (v < 0 if allow_zero else v <= 0)}
    if bad:
        raise ValueError(f"{_tuple_error(value, n, name)}, including values {bad} that do not "
                         f"satisfy `value {'>= 0' if allow_zero else '> 0'}`")
    return values


def _tuple_error(value, n, name):
    # Built only on failure: formatting it took half of a successful call's time.
    return f"The `{name}` argument must be a tuple of {n} integers. Received {name}={value}"


def standardize_padding(value, allow_causal=False):
    """'valid' / 'same' (/ 'causal' for 1-D), any case -> lower case, Keras' error otherwise."""
    allowed = {"valid", "same", "causal"} if allow_causal else {"valid", "same"}
    padding = str(value).lower()
    if padding not in allowed:
        raise ValueError(f"The `padding` argument must be a list/tuple or one of {allowed}. "
                         f"Received: {padding}")
    return padding


def standardize_data_format(data_format):
    """None -> 'channels_last' (Keras' default image_data_format)."""
    if data_format is None:
        return "channels_last"
    data_format = str(data_format).lower()
    if data_format not in {"channels_first", "channels_last"}:
        raise ValueError("The `data_format` argument must be one of {'channels_first', "
                         f"'channels_last'}}. Received: data_format={data_format}")
    return data_format
