"""The worker process: `python -m worker` runs the Temporal worker until SIGINT or SIGTERM.

Configuration comes from `LOTSE_*` environment variables or a `lotse.toml` (`settings.py`);
everything is built by `bootstrap.py`.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from bootstrap import run_worker
from settings import Settings


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = Settings()

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await run_worker(settings, stop)

    asyncio.run(serve())


if __name__ == "__main__":
    main()
