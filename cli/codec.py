"""`lotse codec init|rotate|serve`: the key ring that encrypts what Temporal stores, and the
codec server through which the Temporal UI shows it decrypted.

The keys live in `LOTSE_CODEC_KEYS_FILE` (default `<data dir>/codec-keys.json`, mode 0600).
`lotse dev` creates the file on first start; these commands are for every other setup.
Losing every copy of the file makes the payloads Temporal keeps unreadable for good.
"""

from __future__ import annotations

import signal
import threading
from typing import Annotated

import typer

from bootstrap import load_key_ring
from cli.common import CliError, invocation_settings, reports_errors
from codec.aesgcm import EncryptionCodec
from codec.keys import ensure_key_file, rotate_key_file
from codec.server import CodecServer, ui_origins
from settings import Settings

app = typer.Typer(help="The payload codec: its keys and the codec server for the Temporal UI.")


def _file_only(settings: Settings) -> None:
    if settings.codec_keys.get_secret_value():
        raise CliError(
            "LOTSE_CODEC_KEYS is set, so the key file is not used; change the keys where that "
            "variable is kept (or unset it to work on the file)"
        )


@app.command("init")
@reports_errors
def init(ctx: typer.Context) -> None:
    """Create the key file with one fresh key, unless it exists (then only check it)."""
    settings = invocation_settings(ctx)
    _file_only(settings)
    path = settings.codec_keys_path
    ring, created = ensure_key_file(path)
    verb = "created" if created else "exists"
    typer.echo(f"{path} {verb}: {len(ring.keys)} key(s), current {ring.current}")


@app.command("rotate")
@reports_errors
def rotate(ctx: typer.Context) -> None:
    """Add a fresh key and make it current; older keys stay to decrypt older payloads.

    Restart workers (and `lotse dev`) afterwards: they read the keys when they start."""
    settings = invocation_settings(ctx)
    _file_only(settings)
    ring = rotate_key_file(settings.codec_keys_path)
    typer.echo(
        f"{settings.codec_keys_path}: current key now {ring.current} ({len(ring.keys)} keys); "
        "restart the workers and the codec server to use it"
    )


@app.command("serve")
@reports_errors
def serve(
    ctx: typer.Context,
    port: Annotated[
        int | None, typer.Option(help="Port on 127.0.0.1; default LOTSE_DEV_CODEC_PORT.")
    ] = None,
) -> None:
    """Run the codec server for a Temporal UI at LOTSE_TEMPORAL_UI_URL until Ctrl-C."""
    settings = invocation_settings(ctx)
    codec = EncryptionCodec(load_key_ring(settings))
    origins = ui_origins(settings.temporal_ui_url)
    try:
        server = CodecServer(codec, port or settings.dev_codec_port, origins)
    except OSError as error:
        raise CliError(f"the codec server cannot listen: {error.strerror or error}") from None
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with server:
        typer.echo(f"codec server on {server.url} for the UI at {', '.join(sorted(origins))}")
        stop.wait()
    typer.echo("stopped")
