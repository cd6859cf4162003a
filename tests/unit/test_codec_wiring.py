"""How the settings reach the codec: which keys a process uses, and which failures it seals."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr
from temporalio.api.failure.v1 import Failure
from temporalio.exceptions import ApplicationError

from bootstrap import build_data_converter, load_key_ring
from codec.aesgcm import ENCODING, EncryptionCodec
from codec.keys import CodecKeyError, KeyRing, ensure_key_file
from settings import Settings

SECRET_TEXT = "Zyxwvu-Marker Uebung"


def test_the_key_file_lives_in_the_data_folder_unless_configured(tmp_path: Path) -> None:
    assert Settings(data_dir=tmp_path).codec_keys_path == tmp_path / "codec-keys.json"
    elsewhere = tmp_path / "secrets" / "ring.json"
    assert Settings(data_dir=tmp_path, codec_keys_file=elsewhere).codec_keys_path == elsewhere


def test_keys_given_in_the_variable_win_over_the_file(tmp_path: Path) -> None:
    on_disk, _ = ensure_key_file(tmp_path / "codec-keys.json")
    given = KeyRing.fresh()
    settings = Settings(data_dir=tmp_path, codec_keys=SecretStr(given.to_json()))

    assert load_key_ring(settings) == given
    assert load_key_ring(Settings(data_dir=tmp_path)) == on_disk


def test_no_process_makes_keys_of_its_own_when_there_are_none(tmp_path: Path) -> None:
    with pytest.raises(CodecKeyError, match="no codec key file"):
        build_data_converter(Settings(data_dir=tmp_path))
    assert not (tmp_path / "codec-keys.json").exists()


async def test_the_converter_every_client_uses_encrypts_payloads(tmp_path: Path) -> None:
    ensure_key_file(tmp_path / "codec-keys.json")
    converter = build_data_converter(Settings(data_dir=tmp_path))

    [sealed] = await converter.encode([{"title": SECRET_TEXT}])

    assert sealed.metadata["encoding"] == ENCODING
    assert SECRET_TEXT.encode() not in sealed.data
    assert await converter.decode([sealed], [dict]) == [{"title": SECRET_TEXT}]


async def failure_of(error: BaseException, tmp_path: Path) -> tuple[Failure, BaseException]:
    """The failure as the worker hands it to Temporal, and as a client reads it back."""
    ensure_key_file(tmp_path / "codec-keys.json")
    converter = build_data_converter(Settings(data_dir=tmp_path))
    failure = Failure()
    await converter.encode_failure(error, failure)
    stored = Failure()
    stored.CopyFrom(failure)
    return stored, await converter.decode_failure(failure)


async def test_an_unexpected_error_s_text_reaches_temporal_only_encrypted(tmp_path: Path) -> None:
    stored, read_back = await failure_of(RuntimeError(f"row {SECRET_TEXT} broke"), tmp_path)

    assert stored.message == "Encoded failure"
    assert stored.stack_trace == ""
    assert stored.encoded_attributes.metadata["encoding"] == ENCODING
    assert SECRET_TEXT.encode() not in stored.SerializeToString()
    assert isinstance(read_back, ApplicationError)
    assert read_back.message == f"row {SECRET_TEXT} broke"


@pytest.mark.parametrize("kind", ["UpdateRefused", "InvalidInput", "AlertAlreadyAcknowledged"])
async def test_a_refusal_for_the_operator_stays_readable_for_the_ui(
    kind: str, tmp_path: Path
) -> None:
    # The UI's update dialog shows `failure.message` as the server returns it, undecoded.
    refusal = ApplicationError("the incident is closed", type=kind, non_retryable=True)

    stored, read_back = await failure_of(refusal, tmp_path)

    assert stored.message == "the incident is closed"
    assert not stored.HasField("encoded_attributes")
    assert isinstance(read_back, ApplicationError)
    assert read_back.type == kind


async def test_a_codec_of_other_keys_cannot_read_a_sealed_failure(tmp_path: Path) -> None:
    stored, _ = await failure_of(RuntimeError(SECRET_TEXT), tmp_path)
    stranger = EncryptionCodec(KeyRing.fresh())

    with pytest.raises(CodecKeyError, match="not in the codec key ring"):
        await stranger.decode([stored.encoded_attributes])
