"""`lotse agreement load|show`, and a Temporal that cannot be reached: no server needed."""

from __future__ import annotations

from pathlib import Path

from typer.testing import Result

from bootstrap import build_application
from settings import Settings
from tests.cli.support import AGREEMENT_FILE, cli_environment, invoke
from tests.workflow.support import PARTNERS, free_port


def one_error_line(result: Result) -> str:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_loading_the_same_agreement_twice_records_it_once(tmp_path: Path) -> None:
    env = cli_environment(tmp_path)

    first = invoke(env, "agreement", "load")
    second = invoke(env, "agreement", "load")

    assert first.exit_code == 0, first.output
    assert first.stdout.splitlines()[0] == (
        "agreement kooperation-opferhilfe-sachsen loaded: version 1"
    )
    for partner in PARTNERS:
        assert f"  partner joined: {partner}" in first.stdout
    assert "  final escalation: Lagezentrum des Sächsischen Staatsministeriums" in first.stdout
    assert second.exit_code == 0, second.output
    assert second.stdout == "agreement kooperation-opferhilfe-sachsen unchanged (version 1)\n"


def test_agreement_show_lists_each_partner_with_remit_deadline_and_contacts(
    tmp_path: Path,
) -> None:
    env = cli_environment(tmp_path)
    invoke(env, "agreement", "load")

    result = invoke(env, "agreement", "show")

    assert result.exit_code == 0, result.output
    assert "Kooperationsvereinbarung zur Unterstützung von Betroffenen" in result.stdout
    assert "label 2021-01 · version 1 · escalation step 30 min" in result.stdout
    assert (
        "final escalation: Lagezentrum des Sächsischen Staatsministeriums des Innern "
        "(email: lagezentrum@smi.example.org)"
    ) in result.stdout
    for partner in PARTNERS:
        assert partner in result.stdout
    assert "email: landesbuero@weisser-ring.example.org" in result.stdout
    assert "financial, legal, psychosocial, information" in result.stdout


def test_agreement_show_at_an_unknown_version_is_one_error_line(tmp_path: Path) -> None:
    env = cli_environment(tmp_path)
    invoke(env, "agreement", "load")

    result = invoke(env, "agreement", "show", "--version", "2")

    assert one_error_line(result) == (
        "error: agreement 'kooperation-opferhilfe-sachsen' has no version 2 (versions: 1 to 1)"
    )


def test_agreement_show_at_a_version_shows_the_terms_of_that_load(tmp_path: Path) -> None:
    env = cli_environment(tmp_path)
    invoke(env, "agreement", "load")
    changed = tmp_path / "changed.toml"
    changed.write_text(
        AGREEMENT_FILE.read_text(encoding="utf-8").replace(
            "lagezentrum@smi.example.org", "lagezentrum-neu@smi.example.org"
        ),
        encoding="utf-8",
    )
    loaded = invoke(env, "agreement", "load", str(changed))

    first = invoke(env, "agreement", "show", "--version", "1")
    latest = invoke(env, "agreement", "show")

    assert loaded.stdout.splitlines()[0].endswith("loaded: version 2"), loaded.output
    assert "version 1 · escalation step" in first.stdout
    assert "lagezentrum@smi.example.org" in first.stdout
    assert "version 2 · escalation step" in latest.stdout
    assert "lagezentrum-neu@smi.example.org" in latest.stdout


def test_a_broken_agreement_file_is_one_error_line_naming_the_field(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text('agreement_id = "x-y"\ntitle = "T"\n', encoding="utf-8")

    result = invoke(cli_environment(tmp_path), "agreement", "load", str(broken))

    line = one_error_line(result)
    assert line.startswith(f"error: {broken}: ")
    assert "partners: Field required" in line


def test_an_agreement_never_loaded_is_one_error_line(tmp_path: Path) -> None:
    build_application(Settings(data_dir=tmp_path, sqlite_path=None)).close()  # an empty store

    result = invoke(cli_environment(tmp_path), "agreement", "show")

    assert "has not been loaded (run `lotse agreement load`)" in one_error_line(result)


def test_an_unreachable_temporal_is_one_clear_error_line(tmp_path: Path) -> None:
    address = f"127.0.0.1:{free_port()}"
    env = cli_environment(tmp_path, LOTSE_TEMPORAL_ADDRESS=address)

    result = invoke(env, "incident", "status", "some-incident")

    assert one_error_line(result) == (
        f"error: cannot reach Temporal at {address} (is `make run` running?)"
    )


def test_an_agreement_path_that_is_a_directory_is_one_error_line(tmp_path: Path) -> None:
    result = invoke(cli_environment(tmp_path), "agreement", "load", str(tmp_path))

    assert one_error_line(result) == f"error: {tmp_path}: cannot be read: Is a directory"


def test_a_data_dir_that_is_a_file_is_one_error_line(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "data"
    not_a_dir.write_text("", encoding="utf-8")

    result = invoke(cli_environment(not_a_dir), "agreement", "load")

    assert one_error_line(result) == f"error: File exists: {not_a_dir}"


def test_an_unreachable_postgresql_store_is_one_error_line(tmp_path: Path) -> None:
    env = cli_environment(
        tmp_path,
        LOTSE_STORE="postgres",
        LOTSE_POSTGRES_PORT=str(free_port()),
        LOTSE_POSTGRES_CONNECT_TIMEOUT_SECONDS="1",
    )

    result = invoke(env, "incident", "list")

    assert one_error_line(result).startswith("error: the event store cannot be used:")


def test_loading_the_agreement_under_a_persons_name_is_refused(tmp_path: Path) -> None:
    env = cli_environment(tmp_path)

    result = invoke(env, "agreement", "load", "--staff", "max.mustermann")

    assert result.exit_code == 1
    assert "never a person's name" in result.stderr
    assert result.stdout == ""  # nothing was loaded
