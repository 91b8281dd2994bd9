"""End to end through a real Hypha server: every value family between two hypha_arrow clients,
in every direction (positional and keyword arguments, return values, nested containers,
callbacks, generators), plus errors that must behave as in stock hypha-rpc.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from hypha_arrow.testing import assert_same
from tests.support.aio import run
from tests.support.server import FRAME, serve

RNG = np.random.default_rng(42)
MESSY_FRAME = pd.DataFrame(
    {
        "ints": pd.Series([2**53 + 1, None, 3] * 1000, dtype=object),
        "cells": pd.Series([[1, "a"], {"k": (1, 2)}, Decimal("1.10")] * 1000, dtype=object),
        "text": pd.Series(["a", float("nan"), None] * 1000, dtype=object),
        "python strings": pd.array(["x", None, "z"] * 1000, dtype="string[python]"),
    }
).set_axis([True, False, 0, ("a", 1)], axis=1)

VALUES: dict[str, Any] = {
    "float64 array of 1e6": RNG.random(1_000_000),
    "float32 2-d array": RNG.random((300, 400), dtype=np.float32),
    "int8 3-d array": RNG.integers(-128, 127, size=(4, 50, 60), dtype=np.int8),
    "uint16 array": np.arange(20_000, dtype=np.uint16),
    "int32 array": RNG.integers(-(2**31), 2**31 - 1, size=10_000, dtype=np.int32),
    "int64 Fortran-order array": np.asfortranarray(np.arange(60_000, dtype=np.int64).reshape(200, 300)),
    "bool array": RNG.random(10_000) > 0.5,
    "complex128 array": RNG.random(5_000) + 1j * RNG.random(5_000),
    "datetime64 array": np.arange(5_000).astype("datetime64[s]"),
    "timedelta64 array": np.arange(5_000).astype("timedelta64[ms]"),
    "unicode array": np.array([f"u{i}" for i in range(3_000)]),
    "small int array": np.arange(5, dtype=np.int64),
    "numpy float32 scalar": np.float32(2.5),
    "numpy int64 scalar": np.int64(-7),
    "numpy bool scalar": np.bool_(True),
    "DataFrame with index, categorical and nullable ints": FRAME,
    "Series": pd.Series(FRAME["value"].to_numpy(), index=pd.Index([f"k{i}" for i in range(len(FRAME))]), name="v"),
    "DataFrame of object cells under bool, int and tuple labels": MESSY_FRAME,
    "longdouble array": np.linspace(0, 1, 5_000, dtype=np.longdouble),
    "structured array": np.zeros(4_000, dtype=[("x", "<f8"), ("tag", "S3")]),
    "pyarrow Table": pa.table({"x": np.arange(10_000), "y": [f"s{i}" for i in range(10_000)]}),
    "list of 1e4 str": [f"item-{i}" for i in range(10_000)],
    "list of 1e4 records": [{"id": i, "name": f"n{i}", "score": i / 3} for i in range(10_000)],
    "nested dicts and lists with arrays": {
        "a": [np.arange(5_000.0), {"b": np.ones((20, 30), dtype=np.int16), "note": "x"}],
        "c": {"d": [1, "two", 3.0], "e": RNG.random(2_000)},
    },
}


def check(name: str, actual: Any) -> None:
    assert_same(VALUES[name], actual, name)


FAMILIES = pytest.mark.parametrize("name", list(VALUES))


# -- 1. every value family, every direction --------------------------------------------------


@FAMILIES
def test_value_sent_as_positional_argument_arrives_exactly_at_the_service(hypha_server: str, name: str) -> None:
    received: list[Any] = []

    def take(value: Any) -> str:
        received.append(value)
        return "ok"

    async def body() -> None:
        async with serve(hypha_server, {"take": take}) as service:
            assert await service.take(VALUES[name]) == "ok"
        check(name, received[0])

    run(body)


@FAMILIES
def test_value_sent_as_keyword_argument_arrives_exactly_at_the_service(hypha_server: str, name: str) -> None:
    received: dict[str, Any] = {}

    def take(label: str, value: Any = None, flag: bool = False) -> str:
        received.update(label=label, value=value, flag=flag)
        return "ok"

    async def body() -> None:
        async with serve(hypha_server, {"take": take}) as service:
            assert await service.take("first", value=VALUES[name], flag=True) == "ok"
        assert received["label"] == "first" and received["flag"] is True
        check(name, received["value"])

    run(body)


@FAMILIES
def test_value_returned_by_the_service_arrives_exactly_at_the_caller(hypha_server: str, name: str) -> None:
    async def body() -> None:
        async with serve(hypha_server, {"make": lambda key: VALUES[key]}) as service:
            check(name, await service.make(name))

    run(body)


@FAMILIES
def test_value_echoed_by_the_service_comes_back_exactly(hypha_server: str, name: str) -> None:
    async def body() -> None:
        async with serve(hypha_server, {"echo": lambda value: value}) as service:
            check(name, await service.echo(VALUES[name]))

    run(body)


@FAMILIES
def test_value_inside_nested_containers_arrives_exactly_both_ways(hypha_server: str, name: str) -> None:
    received: list[Any] = []

    def wrap(container: dict[str, Any]) -> dict[str, Any]:
        received.append(container)
        return {"back": [container["outer"][1]["inner"], {"deep": container["outer"][0]}], "count": 2}

    async def body() -> None:
        value = VALUES[name]
        async with serve(hypha_server, {"wrap": wrap}) as service:
            result = await service.wrap({"outer": [value, {"inner": value, "tag": "t"}], "n": 1})
        arrived = received[0]
        assert arrived["n"] == 1 and arrived["outer"][1]["tag"] == "t"
        check(name, arrived["outer"][0])
        check(name, arrived["outer"][1]["inner"])
        assert result["count"] == 2
        check(name, result["back"][0])
        check(name, result["back"][1]["deep"])

    run(body)


@FAMILIES
def test_callback_passed_by_the_caller_receives_the_value_exactly(hypha_server: str, name: str) -> None:
    received: list[Any] = []

    def on_value(value: Any) -> Any:
        received.append(value)
        return value  # the callback's reply travels caller -> service

    async def notify(callback: Any, key: str) -> Any:
        replied = await callback(VALUES[key])
        return {"replied": replied}

    async def body() -> None:
        async with serve(hypha_server, {"notify": notify}) as service:
            result = await service.notify(on_value, name)
        check(name, received[0])
        check(name, result["replied"])

    run(body)


def test_callback_receives_a_dataframe_as_keyword_argument(hypha_server: str) -> None:
    received: list[Any] = []

    async def notify(callback: Any) -> str:
        await callback("frames", frame=FRAME.head(3_000))
        return "done"

    async def body() -> None:
        async with serve(hypha_server, {"notify": notify}) as service:
            assert await service.notify(lambda topic, frame=None: received.append((topic, frame))) == "done"
        assert received[0][0] == "frames"
        assert_same(FRAME.head(3_000), received[0][1])

    run(body)


def test_record_list_as_argument_and_return_value_arrives_as_plain_dicts(hypha_server: str) -> None:
    records = VALUES["list of 1e4 records"]
    received: list[Any] = []

    def take(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        received.append(rows)
        return rows

    async def body() -> None:
        async with serve(hypha_server, {"take": take}) as service:
            returned = await service.take(records)
        for rows in (received[0], returned):
            assert_same(records, rows)
            assert all(type(row) is dict for row in rows)

    run(body)


def test_several_typed_values_in_one_call_each_arrive_with_their_own_type(hypha_server: str) -> None:
    received: list[Any] = []

    def take(*args: Any, **kwargs: Any) -> list[Any]:
        received.append((args, kwargs))
        return [kwargs["frame"], args[0], args[1]]

    names = ["float64 array of 1e6", "list of 1e4 str", "DataFrame with index, categorical and nullable ints"]

    async def body() -> None:
        async with serve(hypha_server, {"take": take}) as service:
            result = await service.take(VALUES[names[0]], VALUES[names[1]], frame=VALUES[names[2]], n=np.int64(3))
        args, kwargs = received[0]
        check(names[0], args[0])
        check(names[1], args[1])
        check(names[2], kwargs["frame"])
        assert_same(np.int64(3), kwargs["n"])
        check(names[2], result[0])
        check(names[0], result[1])
        check(names[1], result[2])

    run(body)


# -- 3. generators ---------------------------------------------------------------------------


def test_async_generator_method_streams_dataframes_to_the_caller(hypha_server: str) -> None:
    async def batches(count: int) -> AsyncIterator[pd.DataFrame]:
        for index in range(count):
            yield FRAME.iloc[index * 5_000 : (index + 1) * 5_000]

    async def body() -> None:
        async with serve(hypha_server, {"batches": batches, "echo": lambda value: value}) as service:
            stream = await service.batches(3)
            received = [frame async for frame in stream]
            assert len(received) == 3
            for index, frame in enumerate(received):
                assert_same(FRAME.iloc[index * 5_000 : (index + 1) * 5_000], frame)
            assert await service.echo("still here") == "still here"

    run(body)


def test_async_generator_method_streams_large_arrays_and_can_be_left_early(hypha_server: str) -> None:
    async def chunks() -> AsyncIterator[np.ndarray]:
        for index in range(100):
            yield np.full(500_000, index, dtype=np.float64)

    async def body() -> None:
        async with serve(hypha_server, {"chunks": chunks, "echo": lambda value: value}) as service:
            received = []
            async for chunk in await service.chunks():
                received.append(chunk)
                if len(received) == 2:
                    break
            assert_same(np.full(500_000, 0.0), received[0])
            assert_same(np.full(500_000, 1.0), received[1])
            assert await service.echo(7) == 7

    run(body)


# -- 9. errors behave as in stock hypha-rpc ----------------------------------------------------


def test_value_error_raised_by_the_service_reaches_the_hypha_arrow_caller(hypha_server: str) -> None:
    def fail(frame: pd.DataFrame) -> None:
        raise ValueError(f"bad frame with {len(frame)} rows")

    async def body() -> None:
        async with serve(hypha_server, {"fail": fail, "echo": lambda value: value}) as service:
            with pytest.raises(Exception, match="ValueError: bad frame with 20000 rows"):
                await service.fail(FRAME)
            assert_same(FRAME, await service.echo(FRAME))  # the connection still works

    run(body)


def test_exception_in_an_async_service_method_reaches_the_caller(hypha_server: str) -> None:
    async def fail(array: np.ndarray) -> None:
        await asyncio.sleep(0)
        raise ValueError(f"bad array of {array.size}")

    async def body() -> None:
        async with serve(hypha_server, {"fail": fail}) as service:
            with pytest.raises(Exception, match="bad array of 1000000"):
                await service.fail(VALUES["float64 array of 1e6"])

    run(body)


def test_calling_a_method_missing_from_the_service_proxy_errors_as_in_stock(hypha_server: str) -> None:
    async def body() -> None:
        async with serve(hypha_server, {"echo": lambda value: value}) as service:
            with pytest.raises(AttributeError, match="missing"):
                await service.missing(FRAME)
            assert await service.echo(1) == 1

    run(body)


def test_calling_a_method_the_provider_never_registered_errors_on_the_caller(hypha_server: str) -> None:
    async def body() -> None:
        async with serve(hypha_server, {"echo": lambda value: value}) as service:
            # the same remote reference as ``service.echo`` (hypha_arrow tags included) with
            # another method name: the provider receives a hybrid frame for a method it lacks
            encoded = dict(service.echo._encoded_method)
            assert encoded.get("_rarrow"), "a hypha_arrow service's methods carry the _rarrow tag"
            encoded["_rmethod"] = encoded["_rmethod"].rsplit(".", 1)[0] + ".missing"
            missing = service.echo._rpc._generate_remote_method(encoded)
            with pytest.raises(Exception, match="Method expired or not found"):
                await asyncio.wait_for(missing(FRAME), 30)
            assert await service.echo(2) == 2

    run(body)
