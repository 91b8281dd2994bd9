"""Where hypha_arrow meets hypha-rpc: only the module names listed in ``seams.REBINDS`` change,
stock objects stay stock, and a hypha-rpc release without the internals is refused by name."""

from __future__ import annotations

import asyncio
import gc
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from typing import Any

import pytest
from hypha_rpc import http_client, rpc, websocket_client

import hypha_arrow
from hypha_arrow.rpc import seams

MODULES = (rpc, websocket_client, http_client)


@pytest.fixture(autouse=True)
def nothing_installed() -> Iterator[None]:
    """Earlier tests' connections are disconnected or gone; what they leave behind must not count."""
    gc.collect()  # an RPC is a web of cycles: offline ones built here go at a collection
    hypha_arrow.disable()
    assert not seams.installed(), "a disconnected hypha_arrow connection kept hypha-rpc rebound"
    yield
    hypha_arrow.disable()


CLASSES = [value for module in MODULES for value in vars(module).values() if isinstance(value, type) and value.__module__.startswith("hypha_rpc")]


def snapshot() -> dict[str, dict[str, Any]]:
    """Every module global of hypha-rpc's modules and every attribute of every class they hold."""
    state = {module.__name__: dict(vars(module)) for module in MODULES}
    return state | {f"{cls.__module__}:{cls.__qualname__}": dict(vars(cls)) for cls in CLASSES}


def changes(before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]]) -> set[tuple[str, str]]:
    return {(owner, name) for owner in before for name in before[owner].keys() | after[owner].keys() if before[owner].get(name) is not after[owner].get(name)}


def test_enable_rebinds_only_the_listed_module_names_and_no_class_attribute() -> None:
    before = snapshot()
    hypha_arrow.enable()
    assert changes(before, snapshot()) == {(rebind.module, rebind.name) for rebind in seams.REBINDS}
    hypha_arrow.disable()
    assert changes(before, snapshot()) == set()


def test_rpc_and_connection_built_without_hypha_arrow_asking_are_the_stock_classes() -> None:
    stock_rpc, stock_connection = websocket_client.RPC, websocket_client.WebsocketRPCConnection
    hypha_arrow.enable()
    loop = asyncio.new_event_loop()  # hypha-rpc sets an exception handler holding the RPC on its loop
    try:
        assert type(websocket_client.RPC(None, client_id="arrow", server_base_url="http://x", loop=loop)).__name__ == "ArrowRPC"
    finally:
        loop.close()
    hypha_arrow.disable()
    seams.install({"msgpack": rpc.msgpack, "RPC": websocket_client.RPC, "WebsocketRPCConnection": stock_connection})
    try:
        from hypha_arrow.rpc import _new_rpc, _new_websocket_connection

        assert type(_new_rpc(None, client_id="plain", server_base_url="http://x", loop=asyncio.new_event_loop())) is stock_rpc
        connection = _new_websocket_connection("ws://127.0.0.1:1/ws", "plain")
        assert type(connection) is stock_connection
    finally:
        seams.restore()


def test_stock_packing_is_plain_msgpack_while_hypha_arrow_is_installed() -> None:
    import msgpack

    hypha_arrow.enable()
    header = {"type": "method", "to": "ws/peer"}
    assert rpc.msgpack.packb(header) == msgpack.packb(header), "a stock RPC's header got the _ha key"
    assert rpc.msgpack.unpackb(msgpack.packb({"a": b"x"})) == {"a": b"x"}


def run_python(script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    ("break_it", "named"),
    [
        ("del rpc.RPC._set_message", "hypha_rpc.rpc:RPC._set_message"),
        ("rpc.RPC._process_message = lambda self, key, context=None: None", "_process_message('key', 'heartbeat', 'context')"),
        ("del websocket_client.WebsocketRPCConnection._ws_connect_kwargs", "WebsocketRPCConnection._ws_connect_kwargs"),
        ("del http_client.RPC", "hypha_rpc.http_client.RPC"),
        ("rpc.RPC._encode = lambda self, a_object, session_id=None, local_workspace=None: a_object", "RPC._encode's ndarray form"),
    ],
    ids=["method-gone", "parameters-changed", "connection-method-gone", "module-name-gone", "behaviour-changed"],
)
def test_a_release_missing_an_internal_is_refused_by_name_and_left_untouched(break_it: str, named: str) -> None:
    result = run_python(
        f"""
        import hypha_arrow
        from hypha_rpc import rpc, websocket_client, http_client
        {break_it}
        shim_before = rpc.msgpack
        try:
            hypha_arrow.enable()
        except hypha_arrow.IncompatibleHyphaRPC as error:
            print("REFUSED", error)
        assert rpc.msgpack is shim_before, "half installed"
        """
    )
    assert "REFUSED" in result.stdout and named in result.stdout, result.stdout + result.stderr


def test_a_release_outside_the_tested_range_with_every_internal_works_with_one_warning() -> None:
    result = run_python(
        """
        import warnings, hypha_rpc, hypha_arrow
        hypha_rpc.__version__ = "0.21.99"
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            hypha_arrow.enable()
            hypha_arrow.disable()
            hypha_arrow.enable()
        print(len(caught), caught[0].message if caught else "")
        """
    )
    assert result.stdout.startswith("1 ") and "0.21.99 has every internal it needs" in result.stdout, result.stdout + result.stderr
