"""The identity key (issue #8): made once on the first import with mode 0600 and then only read,
refused when others may read it, too short or not base64 — a changed key would make every
person of earlier lists a stranger."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest
from pydantic import SecretStr

from cli.common import CliError
from cli.importing import identity_key
from settings import Settings


def settings_in(folder: Path, **values: object) -> Settings:
    return Settings(data_dir=folder, **values)  # type: ignore[arg-type]  # pydantic-settings takes any field


def test_the_key_is_made_once_readable_by_the_owner_only_and_then_kept(tmp_path: Path) -> None:
    settings = settings_in(tmp_path)
    first = identity_key(settings)
    path = tmp_path / "identity-key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first) == 32
    assert identity_key(settings) == first


def test_a_key_others_may_read_is_refused_with_the_command_that_mends_it(tmp_path: Path) -> None:
    settings = settings_in(tmp_path)
    identity_key(settings)
    (tmp_path / "identity-key").chmod(0o644)
    with pytest.raises(CliError, match=r"other users may read the identity key.*chmod 600"):
        identity_key(settings)


def test_a_key_from_the_environment_must_be_base64_of_at_least_32_bytes(tmp_path: Path) -> None:
    good = base64.b64encode(b"x" * 32).decode()
    assert identity_key(settings_in(tmp_path, identity_key=SecretStr(good))) == b"x" * 32
    assert not (tmp_path / "identity-key").exists()
    short = base64.b64encode(b"x" * 16).decode()
    with pytest.raises(CliError, match="at least 32 bytes"):
        identity_key(settings_in(tmp_path, identity_key=SecretStr(short)))
    with pytest.raises(CliError, match="not base64"):
        identity_key(settings_in(tmp_path, identity_key=SecretStr("no base64 here!")))
