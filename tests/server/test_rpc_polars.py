"""A polars DataFrame of every dtype echoed through a real Hypha server between two hypha_arrow clients."""

from __future__ import annotations

import asyncio

import polars as pl

import hypha_arrow
from hypha_arrow.testing import assert_same
from tests.support.polars_values import every_dtype


def test_frame_of_200k_rows_echoes_exactly_through_a_real_server(hypha_server: str) -> None:
    frame = pl.concat([every_dtype(2000)] * 100)  # 100 chunks, as appended frames have

    async def echo() -> pl.DataFrame:
        provider = await hypha_arrow.connect_to_server({"server_url": hypha_server})
        caller = await hypha_arrow.connect_to_server({"server_url": hypha_server})
        try:
            await provider.register_service({"id": "echo", "config": {"visibility": "public"}, "echo": lambda x: x})
            service = await caller.get_service(f"{provider.config.workspace}/{provider.config.client_id}:echo")
            return await service.echo(frame)
        finally:
            await caller.disconnect()
            await provider.disconnect()

    assert_same(frame, asyncio.run(asyncio.wait_for(echo(), 120)))
