"""Small validators for request params (the Python twin of plugins/tinker/protocol/schemas.ts).

Every failure raises a -32602 user error naming the field, so a bad request never reaches the
numeric code.
"""

import math

from .errors import user_error

_MISSING = object()


def _fail(path, what):
    raise user_error(f"invalid params: {path}: {what}")


def obj(value, path="(params)"):
    if value is None:
        return {}
    if not isinstance(value, dict):
        _fail(path, "expected an object")
    return value


def _get(d, key, path, default):
    v = d.get(key, _MISSING)
    if v is _MISSING or v is None:
        if default is _MISSING:
            _fail(f"{path}.{key}" if path else key, "required")
        return default
    return v


def string(d, key, default=_MISSING, path="", max_len=None):
    v = _get(d, key, path, default)
    if v is default and default is not _MISSING:
        return v
    if not isinstance(v, str) or v == "":
        _fail(_name(path, key), "expected a non-empty string")
    if max_len is not None and len(v) > max_len:
        _fail(_name(path, key), f"longer than {max_len} characters")
    return v


def integer(d, key, default=_MISSING, path="", minimum=None, maximum=None):
    v = _get(d, key, path, default)
    if v is default and default is not _MISSING:
        return v
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not float(v).is_integer():
        _fail(_name(path, key), "expected an integer")
    v = int(v)
    if minimum is not None and v < minimum:
        _fail(_name(path, key), f"must be >= {minimum}")
    if maximum is not None and v > maximum:
        _fail(_name(path, key), f"must be <= {maximum}")
    return v


def number(d, key, default=_MISSING, path="", minimum=None, maximum=None, positive=False):
    v = _get(d, key, path, default)
    if v is default and default is not _MISSING:
        return v
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        _fail(_name(path, key), "expected a finite number")
    v = float(v)
    if positive and v <= 0:
        _fail(_name(path, key), "must be > 0")
    if minimum is not None and v < minimum:
        _fail(_name(path, key), f"must be >= {minimum}")
    if maximum is not None and v > maximum:
        _fail(_name(path, key), f"must be <= {maximum}")
    return v


def boolean(d, key, default=_MISSING, path=""):
    v = _get(d, key, path, default)
    if not isinstance(v, bool):
        _fail(_name(path, key), "expected a boolean")
    return v


def int_list(value, path, minimum=0):
    if not isinstance(value, list):
        _fail(path, "expected an array of integers")
    out = []
    for i, x in enumerate(value):
        if isinstance(x, bool) or not isinstance(x, (int, float)) or not float(x).is_integer():
            _fail(f"{path}.{i}", "expected an integer")
        x = int(x)
        if minimum is not None and x < minimum:
            _fail(f"{path}.{i}", f"must be >= {minimum}")
        out.append(x)
    return out


def tensor_data(value, path):
    """A TensorData ``{data, dtype, shape?}`` (or a plain list) → flat list of floats."""
    if isinstance(value, list):
        data = value
    else:
        value = obj(value, path)
        data = value.get("data")
        if not isinstance(data, list):
            _fail(f"{path}.data", "expected an array of numbers")
        dtype = value.get("dtype", "float32")
        if dtype not in ("int64", "float32"):
            _fail(f"{path}.dtype", "expected int64 or float32")
        shape = value.get("shape")
        if shape is not None:
            if not isinstance(shape, list) or len(shape) != 1:
                _fail(f"{path}.shape", "only 1-D tensors are supported (2-D top-K inputs are not)")
            if shape[0] != len(data):
                _fail(f"{path}.shape", f"shape {shape} does not match {len(data)} values")
    for i, x in enumerate(data):
        if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
            _fail(f"{path}.data.{i}", "expected a finite number")
    return [float(x) for x in data]


def _name(path, key):
    return f"{path}.{key}" if path else key
