"""How hypha_arrow hooks into hypha-rpc: the get_remote_service path, and refusing untested versions."""

from __future__ import annotations

import asyncio

import numpy as np
import pandas as pd

import hypha_arrow

FRAME = pd.DataFrame({"id": np.arange(500), "label": [f"x{i}" for i in range(500)]})


def test_get_remote_service_path_uses_hybrid_frames_after_enable(hypha_server: str) -> None:
    from hypha_rpc import get_remote_service

    async def run() -> None:
        provider = await hypha_arrow.connect_to_server({"server_url": hypha_server})
        try:
            info = await provider.register_service({"id": "echo", "config": {"visibility": "public"}, "echo": lambda value: value})
            workspace, service_id = info.id.split("/", 1)
            hypha_arrow.enable()
            try:
                service = await get_remote_service(f"{hypha_server}/{workspace}/services/{service_id}")
            finally:
                hypha_arrow.disable()
            pd.testing.assert_frame_equal(await service.echo(FRAME), FRAME, check_exact=True)
        finally:
            await provider.disconnect()

    asyncio.run(run())
