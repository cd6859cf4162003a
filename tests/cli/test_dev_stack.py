"""`lotse dev` as `make run` starts it: a real process with the real dev server, sink and worker."""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from cli.common import lotse_program
from tests.cli.support import AGREEMENT_FILE, EXAMPLE_DECLARATION
from tests.workflow.support import REPO_ROOT, TEMPORAL_BINARY, free_port

LOTSE = Path(sys.executable).parent / "lotse"
STARTUP_TIMEOUT = 120.0  # a fresh checkout on a busy 2-core machine starts slowly
CLEAN_EXIT_TIMEOUT = 10.0


def dev_environment(data_dir: Path, ui_port: int | None = None) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("LOTSE_")}
    env.update(
        LOTSE_DATA_DIR=str(data_dir),
        LOTSE_AGREEMENT_FILE=str(AGREEMENT_FILE),
        LOTSE_DEV_TEMPORAL_PORT=str(free_port()),
        LOTSE_DEV_UI_PORT=str(ui_port or free_port()),
        LOTSE_DEV_SMTP_PORT=str(free_port()),
        LOTSE_DEV_CODEC_PORT=str(free_port()),
        PYTHONUNBUFFERED="1",
    )
    return env


class Output:
    """Collects a process's stdout lines in a thread, so the test can wait for one."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        assert process.stdout is not None
        stream = process.stdout
        self._thread = threading.Thread(target=lambda: self.lines.extend(stream), daemon=True)
        self._thread.start()

    def wait_for(self, text: str, process: subprocess.Popen[str]) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not any(text in line for line in list(self.lines)):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"`lotse dev` never printed {text!r}; output: {''.join(self.lines)}")
            time.sleep(0.1)

    def finish(self) -> str:
        """Everything printed, once the process has closed its stdout."""
        self._thread.join(timeout=5)
        return "".join(self.lines)


@pytest.fixture
def dev_stack(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], dict[str, str], Output]]:
    """`lotse dev` running until the test sends a signal (killed if the test fails first)."""
    env = dev_environment(tmp_path)
    process = subprocess.Popen(
        [str(LOTSE), "dev"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output = Output(process)
    yield process, env, output
    if process.poll() is None:
        process.kill()
        process.wait()


def wait_for_mails(mail_dir: Path, count: int) -> list[Path]:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while len(mails := sorted(mail_dir.glob("*.eml"))) < count:
        if time.monotonic() > deadline:
            pytest.fail(f"only {len(mails)} of {count} e-mails arrived in {mail_dir}")
        time.sleep(0.2)
    return mails


def test_lotse_dev_runs_the_stack_until_sigterm_and_then_exits_cleanly(
    dev_stack: tuple[subprocess.Popen[str], dict[str, str], Output],
) -> None:
    process, env, output = dev_stack
    address = f"127.0.0.1:{env['LOTSE_DEV_TEMPORAL_PORT']}"
    output.wait_for(f"http://127.0.0.1:{env['LOTSE_DEV_UI_PORT']}", process)

    subprocess.run(
        [
            str(TEMPORAL_BINARY), "workflow", "start", "--address", address,
            "--type", "IncidentResponse", "--task-queue", "victim-support",
            "--workflow-id", "uebung-dev", "--input-file", str(EXAMPLE_DECLARATION),
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )  # fmt: skip
    mails = wait_for_mails(Path(env["LOTSE_DATA_DIR"]) / "mail", 4)
    history = subprocess.run(
        [str(LOTSE), "history", "uebung-dev", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    process.send_signal(signal.SIGTERM)
    started_stopping = time.monotonic()
    exit_code = process.wait(timeout=CLEAN_EXIT_TIMEOUT)
    stopping_took = time.monotonic() - started_stopping
    printed = output.finish()

    assert len(mails) == 4
    events = json.loads(history.stdout)
    assert [e["event"] for e in events[:5]] == ["Declared"] + ["AlertSent"] * 4
    assert events[0]["ctx"]["actor"] == {
        "partner_id": "opferbeauftragte",
        "staff_ref": "lagedienst-1",
    }
    assert events[0]["ctx"]["channel"] == "ui"
    for alert in events[1:5]:
        assert alert["ctx"]["actor"]["staff_ref"] == "lotse-system"
        assert alert["ctx"]["channel"] == "system"
        assert alert["details"]["delivered"] is True
    assert exit_code == 0, printed
    assert stopping_took < 5, f"stopping took {stopping_took:.1f}s"
    assert printed.rstrip().endswith("stopped")
    assert "Traceback" not in printed
    assert "directory hilfsangebote-sachsen loaded: version 1" in printed.splitlines()
    # The commands it suggests reach this stack from any shell and folder.
    status_hint = next(line for line in printed.splitlines() if line.startswith("then: "))
    history_hint = next(line for line in printed.splitlines() if line.startswith("  and: "))
    assert status_hint.startswith(
        f"then: LOTSE_TEMPORAL_ADDRESS={address} LOTSE_DATA_DIR={env['LOTSE_DATA_DIR']} "
        f"{lotse_program()} "
    )  # the data folder holds the codec keys the command needs
    assert f"LOTSE_DATA_DIR={env['LOTSE_DATA_DIR']} " in history_hint
    start_hint = next(line for line in printed.splitlines() if " workflow start" in line)
    assert start_hint.strip().startswith(f"{TEMPORAL_BINARY} workflow start")
    assert f"--input-file {EXAMPLE_DECLARATION}" in start_hint  # absolute: any folder works


def test_a_declaration_started_as_the_ui_form_does_is_encrypted_and_runs(
    dev_stack: tuple[subprocess.Popen[str], dict[str, str], Output],
) -> None:
    # What the start-workflow form of UI 2.54.1 does with a codec endpoint configured (the JS
    # the dev server serves: `encodePayloads` posts the typed JSON to `<endpoint>/encode`, then
    # the start request goes to the UI server's API): a browser, played with HTTP requests.
    process, env, output = dev_stack
    ui = f"http://127.0.0.1:{env['LOTSE_DEV_UI_PORT']}"
    codec = f"http://127.0.0.1:{env['LOTSE_DEV_CODEC_PORT']}"
    output.wait_for(f"codec server: {codec}", process)
    typed = json.loads(EXAMPLE_DECLARATION.read_text(encoding="utf-8"))
    typed["title"] = "Übung Zyxwvu-Marker aus dem UI"
    browser = {"Origin": ui, "X-Namespace": "default"}
    as_typed = {
        "metadata": {"encoding": base64.b64encode(b"json/plain").decode()},
        "data": base64.b64encode(json.dumps(typed).encode()).decode(),
    }

    with httpx.Client(base_url=ui, timeout=30) as page:
        settings = page.get("/api/v1/settings").json()
        encoded = httpx.post(
            f"{codec}/encode?preserveStorageRefs=true",
            json={"payloads": [as_typed]},
            headers=browser,
            timeout=30,
        )
        start_request = {
            "workflowId": "uebung-ui",
            "taskQueue": {"name": "victim-support"},
            "workflowType": {"name": "IncidentResponse"},
            "input": {"payloads": encoded.json()["payloads"]},
        }
        csrf = {"Origin": ui, "X-CSRF-TOKEN": page.cookies.get("_csrf") or ""}
        deadline = time.monotonic() + STARTUP_TIMEOUT
        # The UI server dialled the frontend before it listened and retries with a backoff:
        # for a few seconds after start it answers 503, as an operator's browser would see.
        while (
            started := page.post(
                "/api/v1/namespaces/default/workflows/uebung-ui", json=start_request, headers=csrf
            )
        ).status_code == 503 and time.monotonic() < deadline:
            time.sleep(0.5)
    assert encoded.status_code == 200, encoded.text
    assert started.status_code == 200, started.text
    mails = wait_for_mails(Path(env["LOTSE_DATA_DIR"]) / "mail", 4)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=CLEAN_EXIT_TIMEOUT) == 0, output.finish()

    assert settings["Codec"]["Endpoint"] == codec  # the UI asks this codec server
    [sealed] = encoded.json()["payloads"]
    assert base64.b64decode(sealed["metadata"]["encoding"]) == b"binary/encrypted"
    assert len(mails) == 4
    assert all("Zyxwvu-Marker" in mail.read_text(encoding="utf-8") for mail in mails)
    assert b"Zyxwvu-Marker" not in (Path(env["LOTSE_DATA_DIR"]) / "temporal.db").read_bytes()


def test_lotse_dev_with_a_taken_ui_port_names_the_port_and_exits_1(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        result = subprocess.run(
            [str(LOTSE), "dev"],
            cwd=REPO_ROOT,
            env=dev_environment(tmp_path, ui_port=port),
            capture_output=True,
            text=True,
            timeout=30,
        )

    assert result.returncode == 1
    assert result.stderr == (
        f"error: port {port} (Temporal UI) is already in use — stop the other process "
        "or set LOTSE_DEV_UI_PORT\n"
    )
    assert not (tmp_path / "temporal.db").exists()


def test_a_second_lotse_dev_on_the_same_data_folder_is_refused_and_starts_nothing(
    dev_stack: tuple[subprocess.Popen[str], dict[str, str], Output], tmp_path: Path
) -> None:
    first, env, output = dev_stack
    output.wait_for(f"http://127.0.0.1:{env['LOTSE_DEV_UI_PORT']}", first)
    second_env = dev_environment(tmp_path)  # the same folder, other ports
    second_port = int(second_env["LOTSE_DEV_TEMPORAL_PORT"])

    second = subprocess.run(
        [str(LOTSE), "dev"],
        cwd=REPO_ROOT,
        env=second_env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    nothing_listens = _nobody_listens(second_port)
    first_still_runs = first.poll() is None
    first.send_signal(signal.SIGTERM)
    first_exit = first.wait(timeout=CLEAN_EXIT_TIMEOUT)

    assert second.returncode == 1
    assert second.stderr == (
        f"error: another `lotse dev` (pid {first.pid}) uses the data folder {tmp_path} — two "
        "stacks must not share its Temporal database; stop that one, or start this one on its "
        f"own folder: LOTSE_DATA_DIR=/some/other/folder {lotse_program()} dev\n"
    )
    assert nothing_listens
    assert first_still_runs
    assert first_exit == 0, output.finish()


def _nobody_listens(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0
