"""The `lotse` script's entry point: Ctrl-C while the command line is still loading (about a
second) ends it quietly, like Ctrl-C later on, instead of with a traceback of the imports."""

from __future__ import annotations

import os
import sys

INTERRUPTED_CODE = 130  # 128 + SIGINT


def main() -> None:
    try:
        from cli.main import main as run
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted before anything was sent\n")
        sys.stderr.flush()
        os._exit(INTERRUPTED_CODE)
    run()
