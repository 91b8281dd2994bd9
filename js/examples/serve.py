"""The browser example's back end: a local Hypha server that also serves the page, and a
Python hypha_arrow service with a DataFrame and a numpy array for it.

    cd js && npm install          # builds dist/hypha-arrow.browser.mjs (or: npm run build)
    python examples/serve.py      # then open the address it prints

The page connects back to the same server (its origin), so nothing is fetched from anywhere else.
"""

import argparse
import asyncio
import functools
import signal
import sys
from pathlib import Path

import numpy as np
import pandas as pd

import hypha_arrow
from hypha_arrow.tools.local_server import LocalServer

EXAMPLES = Path(__file__).resolve().parent
DIST = EXAMPLES.parent / "dist"
BUNDLE = DIST / "hypha-arrow.browser.mjs"
ROWS = 1000
MAX_SAMPLES = 10_000_000  # 80 MB of float64: enough for timing large messages, bounded for a demo


def readings() -> pd.DataFrame:
    """Hourly readings whose values follow exact formulas, so a test can recompute them."""
    hour = np.arange(ROWS)
    return pd.DataFrame({"hour": hour, "temperature": 12 + (hour % 24) * 0.25, "station": [f"station-{i % 4}" for i in hour]})


def sine_wave(samples: int) -> np.ndarray:
    """Three periods of a sine in `samples` float64 values."""
    if not isinstance(samples, int) or not 2 <= samples <= MAX_SAMPLES:
        raise ValueError(f"samples must be an integer from 2 to {MAX_SAMPLES}, not {samples!r}")
    return _sine_wave(samples)


@functools.lru_cache(maxsize=4)
def _sine_wave(samples: int) -> np.ndarray:
    """Cached, so that timing a large transfer does not time numpy."""
    return np.sin(np.arange(samples) * (2 * np.pi * 3 / samples))


async def main(server: LocalServer) -> None:
    client = await hypha_arrow.connect_to_server({"server_url": server.url})
    info = await client.register_service({"id": "example-data", "config": {"visibility": "public"}, "readings": readings, "signal": sine_wave})
    print(f"Open {server.url}/examples/index.html?service={info.id}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, help="the server's port on 127.0.0.1 (default: a free one)")
    port = parser.parse_args().port
    if not BUNDLE.exists():
        sys.exit(f"{BUNDLE} is missing: run `npm install` (or `npm run build`) in {EXAMPLES.parent} first")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # so the server is stopped too, not orphaned
    with LocalServer(port=port, extra_args=("--static-mounts", f"/examples:{EXAMPLES}", f"/dist:{DIST}")) as local:
        try:
            asyncio.run(main(local))
        except KeyboardInterrupt:
            pass
