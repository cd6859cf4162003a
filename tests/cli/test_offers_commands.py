"""`lotse offers load|show`: the directory in the record, and the match of one need. No server."""

from __future__ import annotations

from pathlib import Path

from typer.testing import Result

from tests.cli.support import cli_environment, invoke
from tests.workflow.support import REPO_ROOT

DIRECTORY_FILE = REPO_ROOT / "agreements" / "support-offers.toml"


def one_error_line(result: Result) -> str:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def loaded(tmp_path: Path) -> dict[str, str | None]:
    env = cli_environment(tmp_path)
    assert invoke(env, "agreement", "load").exit_code == 0
    result = invoke(env, "offers", "load")
    assert result.exit_code == 0, result.output
    return env


def test_loading_the_same_directory_twice_records_it_once(tmp_path: Path) -> None:
    env = cli_environment(tmp_path)
    invoke(env, "agreement", "load")

    first = invoke(env, "offers", "load")
    second = invoke(env, "offers", "load")

    assert first.exit_code == 0, first.output
    lines = first.stdout.splitlines()
    assert lines[0] == "directory hilfsangebote-sachsen loaded: version 1"
    assert "  offer added: raa-support-leipzig" in lines
    assert lines[-1] == "  revised: 19 offers of 8 providers"
    assert second.stdout == "directory hilfsangebote-sachsen unchanged (version 1)\n"


def test_offers_show_lists_every_offer_with_its_free_places_and_contact(tmp_path: Path) -> None:
    env = loaded(tmp_path)

    result = invoke(env, "offers", "show")

    assert result.exit_code == 0, result.output
    assert "Beratungsstellen und Hilfsangebote" in result.stdout
    assert "bfj-haerteleistungen" in result.stdout
    assert "statewide" in result.stdout
    assert "40 of 40" in result.stdout
    assert "email: dresden@raa-sachsen.example.org" in result.stdout


def test_offers_show_with_a_need_ranks_the_offers_and_explains_the_pick(tmp_path: Path) -> None:
    env = loaded(tmp_path)

    result = invoke(
        env,
        "offers",
        "show",
        "--category",
        "psychosocial",
        "--district",
        "leipzig",
        "--language",
        "uk",
    )

    assert result.exit_code == 0, result.output
    last = result.stdout.splitlines()[-1]
    assert last.startswith(
        "picked raa-support-leipzig for psychosocial in leipzig (language uk): "
    ), last
    assert "Also fit, in order: ohs-leipzig, wr-leipzig, traumaambulanz-leipzig-erwachsene" in last


def test_a_need_that_no_offer_meets_says_so(tmp_path: Path) -> None:
    env = loaded(tmp_path)

    result = invoke(env, "offers", "show", "--category", "remembrance", "--district", "bautzen")

    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "no offer fits remembrance in bautzen (language de). Passed over: 19 category not offered\n"
    )


def test_a_half_given_need_and_a_language_that_is_no_code_are_one_error_line(
    tmp_path: Path,
) -> None:
    env = loaded(tmp_path)

    half = invoke(env, "offers", "show", "--district", "bautzen")
    named = invoke(
        env,
        "offers",
        "show",
        "--category",
        "legal",
        "--district",
        "bautzen",
        "--language",
        "Arabic",
    )

    assert one_error_line(half) == (
        "error: to match a need give both --category and --district (--language: de)"
    )
    assert one_error_line(named) == (
        "error: --language: 'Arabic' is not an ISO 639 code such as de, en, ar, uk"
    )


def test_a_directory_before_its_agreement_is_one_error_line(tmp_path: Path) -> None:
    result = invoke(cli_environment(tmp_path), "offers", "load")

    assert one_error_line(result) == (
        "error: agreement 'kooperation-opferhilfe-sachsen' has not been loaded "
        "(run `lotse agreement load`)"
    )


def test_a_directory_that_crosses_a_partners_remit_is_one_error_line(tmp_path: Path) -> None:
    env = cli_environment(tmp_path)
    invoke(env, "agreement", "load")
    crossing = tmp_path / "crossing.toml"
    crossing.write_text(
        DIRECTORY_FILE.read_text(encoding="utf-8").replace(
            'remit = ["psychosocial", "legal", "information", "practical"]',
            'remit = ["psychosocial", "legal", "information", "practical", "medical"]',
        ),
        encoding="utf-8",
    )

    result = invoke(env, "offers", "load", str(crossing))

    assert one_error_line(result) == (
        "error: directory 'hilfsangebote-sachsen' does not fit agreement "
        "'kooperation-opferhilfe-sachsen': provider 'opferhilfe-sachsen': medical is outside "
        "its remit in agreement 'kooperation-opferhilfe-sachsen' (psychosocial, legal, "
        "information, practical); the agreement creates no new responsibilities"
    )


def test_a_broken_directory_file_is_one_error_line_naming_the_offer(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text(
        DIRECTORY_FILE.read_text(encoding="utf-8").replace("capacity = 500", "capacity = -5"),
        encoding="utf-8",
    )

    result = invoke(cli_environment(tmp_path), "offers", "load", str(broken))

    assert one_error_line(result) == (
        f"error: {broken}: offers[18] (offer 'bfj-haerteleistungen').capacity: Input should be "
        "greater than or equal to 0"
    )


def test_a_directory_never_loaded_is_one_error_line(tmp_path: Path) -> None:
    env = cli_environment(tmp_path)
    invoke(env, "agreement", "load")

    result = invoke(env, "offers", "show")

    assert one_error_line(result) == (
        "error: directory 'hilfsangebote-sachsen' has not been loaded (run `lotse offers load`)"
    )
