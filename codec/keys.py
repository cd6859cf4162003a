"""The key ring of the payload codec: which AES-256 keys exist and which one encrypts.

Format (the file `<data_dir>/codec-keys.json`, or the same JSON in `LOTSE_CODEC_KEYS`):

    {"current": "k20261129-3f9a1c",
     "keys": {"k20261129-3f9a1c": "<base64 of 32 random bytes>", "k20260301-07be42": "…"}}

`current` encrypts every new payload; every key in `keys` decrypts (key rotation keeps the old
ones). The file is written with mode 0600 and refused when others may read it. A malformed ring
is refused with a message naming the source and the field, never the key material.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import secrets
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from contracts.agreement import explain_validation_error

KEY_BYTES = 32  # AES-256
FILE_MODE = 0o600

KeyId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]


class CodecKeyError(ValueError):
    """The key ring cannot be read, is malformed, or lacks a key a payload needs."""


class KeyRing(BaseModel):
    """Key id → base64 key; `current` names the key that encrypts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    current: KeyId
    keys: dict[KeyId, str] = Field(repr=False)  # key material never in a log line

    @field_validator("keys")
    @classmethod
    def _each_key_is_32_bytes_of_base64(cls, keys: dict[str, str]) -> dict[str, str]:
        for key_id, encoded in keys.items():
            try:
                raw = base64.b64decode(encoded, validate=True)
            except (binascii.Error, ValueError):
                raise ValueError(f"key {key_id!r} is not base64") from None
            if len(raw) != KEY_BYTES:
                raise ValueError(f"key {key_id!r} is {len(raw)} bytes, not {KEY_BYTES}")
        return keys

    @model_validator(mode="after")
    def _current_key_exists(self) -> Self:
        if self.current not in self.keys:
            raise ValueError(f"current: {self.current!r} is not among the keys")
        return self

    def key(self, key_id: str) -> bytes:
        """The raw key of `key_id` (KeyError when absent)."""
        return base64.b64decode(self.keys[key_id])

    def with_new_current(self) -> KeyRing:
        """This ring plus a fresh random key, which becomes the current one."""
        key_id = new_key_id()
        keys = {**self.keys, key_id: _random_key()}
        return KeyRing(current=key_id, keys=keys)

    def to_json(self) -> str:
        return json.dumps(self.model_dump(), indent=2) + "\n"

    @classmethod
    def fresh(cls) -> KeyRing:
        """A ring with one new random key."""
        key_id = new_key_id()
        return cls(current=key_id, keys={key_id: _random_key()})

    @classmethod
    def parse(cls, text: str, source: str) -> KeyRing:
        """Validate `text` (JSON) from `source` (a file or a variable, named in errors)."""
        try:
            return cls.model_validate_json(text)
        except ValidationError as error:
            raise CodecKeyError(f"{source}: {explain_validation_error(error)}") from None


def new_key_id() -> str:
    """`k<date>-<6 hex>`: sortable by creation day, unique without coordination."""
    return f"k{datetime.now(UTC):%Y%m%d}-{secrets.token_hex(3)}"


def _random_key() -> str:
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")


def read_key_file(path: Path) -> KeyRing:
    """The ring in `path`; refused when missing, unreadable, malformed or readable by others."""
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CodecKeyError(
            f"{path}: no codec key file — `lotse dev` creates one on first start; elsewhere "
            "run `lotse codec init`, or give the keys in LOTSE_CODEC_KEYS"
        ) from None
    except OSError as error:
        raise CodecKeyError(f"{path}: cannot be read: {error.strerror or error}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise CodecKeyError(
            f"{path}: other users may read the codec keys (mode {stat.S_IMODE(mode):o}); "
            f"run `chmod 600 {path}`"
        )
    return KeyRing.parse(text, str(path))


def write_key_file(path: Path, ring: KeyRing, *, replace: bool) -> None:
    """Write `ring` to `path` with mode 0600; atomically, so a crash leaves the old file.

    With `replace=False` an existing file is never overwritten (`FileExistsError`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    target = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp") if replace else path
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(ring.to_json())
        handle.flush()
        os.fsync(handle.fileno())
    if replace:
        os.replace(target, path)


def ensure_key_file(path: Path) -> tuple[KeyRing, bool]:
    """The ring in `path`, created with one fresh key if there is no file; and whether it was
    created now. An existing file is read, never replaced."""
    try:
        write_key_file(path, KeyRing.fresh(), replace=False)
    except FileExistsError:
        return read_key_file(path), False
    return read_key_file(path), True


def rotate_key_file(path: Path) -> KeyRing:
    """Add a fresh key to the ring in `path` and make it current; the old keys stay."""
    ring = read_key_file(path).with_new_current()
    write_key_file(path, ring, replace=True)
    return ring
