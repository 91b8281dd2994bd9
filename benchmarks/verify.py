"""Exact equality of decoded messages, so a broken codec cannot post a fast number."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


class MismatchError(AssertionError):
    """A path decoded something other than what was encoded."""


def assert_same(expected: Any, actual: Any, where: str = "message") -> None:
    """Raise MismatchError unless ``actual`` equals ``expected`` in type, shape and value.

    Types are compared strictly (1 != 1.0, tuple != list): a codec that silently changes
    a type has changed the message.
    """
    if isinstance(expected, np.ndarray):
        _same_array(expected, actual, where)
    elif isinstance(expected, pd.DataFrame):
        _same_frame(expected, actual, where)
    elif isinstance(expected, dict):
        _same_dict(expected, actual, where)
    elif isinstance(expected, (list, tuple)):
        _same_sequence(expected, actual, where)
    elif type(expected) is not type(actual) or expected != actual:
        raise MismatchError(f"{where}: expected {expected!r}, got {actual!r}")


def _same_type(expected: Any, actual: Any, where: str) -> None:
    if type(expected) is not type(actual):
        raise MismatchError(f"{where}: expected {type(expected).__name__}, got {type(actual).__name__}")


def _same_array(expected: np.ndarray, actual: Any, where: str) -> None:
    _same_type(expected, actual, where)
    if expected.dtype != actual.dtype or expected.shape != actual.shape:
        raise MismatchError(f"{where}: expected {expected.dtype}{expected.shape}, got {actual.dtype}{actual.shape}")
    if not np.array_equal(expected, actual):
        raise MismatchError(f"{where}: array values differ")


def _same_frame(expected: pd.DataFrame, actual: Any, where: str) -> None:
    _same_type(expected, actual, where)
    try:
        pd.testing.assert_frame_equal(expected, actual, check_exact=True)
    except AssertionError as error:
        raise MismatchError(f"{where}: {error}") from error


def _same_dict(expected: dict, actual: Any, where: str) -> None:
    # Stock decodes dicts to hypha_rpc's ObjectProxy, a dict subclass: still a dict.
    if not isinstance(actual, dict):
        raise MismatchError(f"{where}: expected dict, got {type(actual).__name__}")
    if set(expected) != set(actual):
        raise MismatchError(f"{where}: expected keys {sorted(expected)}, got {sorted(actual)}")
    for key, value in expected.items():
        assert_same(value, actual[key], f"{where}[{key!r}]")


def _same_sequence(expected: list | tuple, actual: Any, where: str) -> None:
    _same_type(expected, actual, where)
    if len(expected) != len(actual):
        raise MismatchError(f"{where}: expected length {len(expected)}, got {len(actual)}")
    for index, (want, got) in enumerate(zip(expected, actual)):
        assert_same(want, got, f"{where}[{index}]")
