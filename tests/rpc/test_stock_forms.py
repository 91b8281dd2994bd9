"""hypha-rpc's ndarray form, as the codec writes and reads it, without importing hypha-rpc."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import hypha_arrow
from hypha_arrow.rpc.stock_forms import STOCK_REFUSAL, from_stock_form, materialize, placeholder, stock_form


def test_the_codec_never_imports_hypha_rpc() -> None:
    script = (
        "import sys, numpy, hypha_arrow, hypha_arrow.rpc.stock_forms\n"
        "hypha_arrow.decode(hypha_arrow.encode([1]))\n"
        "frame = hypha_arrow.encode_message({'type': 'method'}, {'args': [numpy.arange(5000), numpy.float32(1)]})\n"
        "hypha_arrow.decode_message(frame); hypha_arrow.inspect(frame)\n"
        "assert 'hypha_rpc' not in sys.modules, sorted(m for m in sys.modules if m.startswith('hypha_rpc'))\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, cwd=Path(__file__).resolve().parents[2])


@pytest.mark.parametrize(
    "value",
    [np.arange(6, dtype=">i4").reshape(2, 3), np.asfortranarray(np.arange(6.0).reshape(2, 3)), np.float32(1.5), np.zeros(2, dtype="V8"), np.longdouble(2)],
    ids=["big-endian", "fortran", "scalar", "void", "longdouble"],
)
def test_stock_form_comes_back_as_the_same_array_or_scalar(value: np.ndarray | np.generic) -> None:
    back = from_stock_form(stock_form(value))
    assert type(back) is type(value) and back.dtype == value.dtype and back.shape == value.shape
    assert isinstance(value, np.generic) or back.flags.f_contiguous == value.flags.f_contiguous
    np.testing.assert_array_equal(back, value, strict=True)


def test_placeholder_is_an_ndarray_form_whose_dtype_numpy_refuses() -> None:
    with pytest.raises(TypeError, match=STOCK_REFUSAL):  # what a stock peer's decoder runs into
        np.dtype(placeholder(0)["_rdtype"])
    with pytest.raises(hypha_arrow.DecodeError):
        from_stock_form(placeholder(0))


def test_materialize_turns_stock_forms_into_arrays_and_leaves_everything_else() -> None:
    lookalike = {"_rtype": "ndarray", "_rvalue": b"\x00" * 8, "_rshape": [1], "_rdtype": "object"}
    value = {"a": [stock_form(np.arange(3))], "b": placeholder(0), "c": lookalike, "d": {"_rtype": "method"}}
    out = materialize(value)
    np.testing.assert_array_equal(out["a"][0], np.arange(3), strict=True)
    assert out["b"] == placeholder(0) and out["c"] is lookalike and out["d"] == {"_rtype": "method"}
