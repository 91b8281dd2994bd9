"""hypha-rpc's ndarray form: the one hypha-rpc value form the codec core writes and reads.

hypha-rpc packs a numpy array as ``{"_rtype": "ndarray", "_rvalue": bytes, "_rshape": [...],
"_rdtype": str(dtype)}``. Arrays that stay msgpack keep that form so stock peers read them;
column placeholders take its shape with a dtype numpy refuses so stock peers refuse them.
All of it lives here so the core holds no other copy of hypha-rpc's keys. Pure (numpy and
our errors only, never hypha-rpc): the core imports it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import DecodeError

STOCK_REFUSAL = "hypha_arrow column: this peer cannot read hybrid frames"
"""The placeholder's ``_rdtype``: a stock peer given a hybrid frame by mistake fails to decode
the placeholder as an ndarray with this text in its error, which reaches the caller."""
RAW_KINDS = "biufcMmUSV"
"""dtype kinds whose elements are plain bytes (object arrays hold pointers instead)."""


def placeholder(index: int) -> dict[str, Any]:
    """What stands in the skeleton where column ``index`` was taken out.

    It has the shape of hypha-rpc's ndarray form with a dtype numpy refuses, so a stock peer
    rejects the call instead of handing its service a meaningless dict.
    """
    return {"_rtype": "ndarray", "_rvalue": b"", "_rdtype": STOCK_REFUSAL, "_rcolumn": index}


def stock_form(value: np.ndarray | np.generic) -> dict[str, Any]:
    """hypha-rpc's msgpack encoding of an array, key for key; stock peers ignore the two keys
    it may add (``_rscalar``, ``_rorder``) and still read the right values."""
    form = {
        "_rtype": "ndarray",
        "_rvalue": value.tobytes(),
        "_rshape": list(value.shape),
        "_rdtype": str(value.dtype),
    }
    if isinstance(value, np.generic):
        form["_rscalar"] = True
    elif value.flags.f_contiguous and not value.flags.c_contiguous:  # the bytes stay in C order, which stock peers read right
        form["_rorder"] = "F"
    return form


def from_stock_form(form: dict[str, Any]) -> np.ndarray | np.generic:
    """Rebuild an array from hypha-rpc's form, refusing dtypes that read raw pointers."""
    try:
        dtype = np.dtype(form["_rdtype"])
        shape = tuple(int(n) for n in form["_rshape"])
        raw = form["_rvalue"]
        if dtype.kind not in RAW_KINDS or dtype.hasobject or dtype.fields is not None or not isinstance(raw, bytes):
            raise ValueError(f"dtype {dtype} cannot be read from raw bytes")
        array = np.frombuffer(raw, dtype=dtype).reshape(shape)
    except (KeyError, TypeError, ValueError, OverflowError) as error:  # only numpy runs on the sender's data here
        raise DecodeError(f"invalid ndarray value: {error}") from None
    if form.get("_rorder") == "F":
        array = np.asfortranarray(array)
    return array[()] if form.get("_rscalar") and array.ndim == 0 else array


def materialize(value: Any) -> Any:
    """Turn hypha-rpc's ndarray forms into arrays, in place, as hypha-rpc's own decoder would
    (placeholders, which share that form, are left for the framing to replace). Iterative:
    msgpack bounds the nesting (1024 levels), Python's stack does not have to."""
    root = [value]
    pending: list[dict[Any, Any] | list[Any]] = [root]
    while pending:
        container = pending.pop()
        for key, item in container.items() if type(container) is dict else enumerate(container):
            if type(item) is dict and item.get("_rtype") == "ndarray":
                if item.get("_rdtype") != STOCK_REFUSAL:
                    container[key] = _array_or_dict(item)
            elif type(item) in (dict, list):
                pending.append(item)
    return root[0]


def _array_or_dict(form: dict[Any, Any]) -> Any:
    """The array a valid hypha-rpc ndarray form stands for; any other such dict is just a dict."""
    try:
        return from_stock_form(form)
    except DecodeError:
        return form
