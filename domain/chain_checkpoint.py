"""Signed checkpoints of the chain's head: what an auditor keeps outside the store, so that
cutting off the newest events together with their links is caught (docs/record.md).

A checkpoint is a small JSON object:

    {"format": "lotse-chain-checkpoint/1", "store": "<where>", "notification_id": N,
     "head_hash": "<64 hex digits>", "made_at": "<ISO 8601, UTC>", "signature": "<base64>"}

The signature is Ed25519 over the UTF-8 bytes of the same object without "signature", as JSON
with sorted keys and no spaces (`json.dumps(…, sort_keys=True, separators=(",", ":"))`).
Whoever holds the public key can check a checkpoint, and cannot make one.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from domain.chain_verify import CheckpointClaim

FORMAT = "lotse-chain-checkpoint/1"
SIGNED_FIELDS = ("format", "store", "notification_id", "head_hash", "made_at")


class CheckpointError(Exception):
    """A checkpoint or key that cannot be used; the message says which and why."""


def signed_checkpoint(
    key: Ed25519PrivateKey, store: str, head: tuple[int, bytes] | None, made_at: datetime
) -> dict[str, Any]:
    """The checkpoint of `head` (notification id, hash) of the chain of `store`, signed."""
    if head is None:
        raise CheckpointError("the record holds no chained event yet: there is no head to sign")
    fields: dict[str, Any] = {
        "format": FORMAT,
        "store": store,
        "notification_id": head[0],
        "head_hash": head[1].hex(),
        "made_at": made_at.isoformat(),
    }
    signature = key.sign(_signed_bytes(fields))
    return {**fields, "signature": base64.b64encode(signature).decode()}


def read_checkpoint(checkpoint: Any, key: Ed25519PublicKey) -> CheckpointClaim:
    """What a checkpoint claims, once its signature verifies with `key`; a `CheckpointError`
    for a malformed one or one whose signature does not (another key, or edited)."""
    if not isinstance(checkpoint, dict) or set(checkpoint) != {*SIGNED_FIELDS, "signature"}:
        fields = ", ".join([*SIGNED_FIELDS, "signature"])
        raise CheckpointError(f"not a Lotse chain checkpoint (expected the fields {fields})")
    try:
        signature = base64.b64decode(checkpoint["signature"], validate=True)
        key.verify(signature, _signed_bytes({k: checkpoint[k] for k in SIGNED_FIELDS}))
    except (InvalidSignature, binascii.Error, TypeError, ValueError):
        raise CheckpointError(
            "its signature does not verify with the public key given: it was made with "
            "another key, or edited since"
        ) from None
    if checkpoint["format"] != FORMAT:
        raise CheckpointError(f"format {checkpoint['format']!r} is not {FORMAT!r}")
    return CheckpointClaim(
        notification_id=int(checkpoint["notification_id"]),
        head_hash=bytes.fromhex(checkpoint["head_hash"]),
        made_at=str(checkpoint["made_at"]),
    )


def _signed_bytes(fields: dict[str, Any]) -> bytes:
    return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()


# --- files ----------------------------------------------------------------------------------


def write_key_pair(private_path: Path, public_path: Path) -> None:
    """A new Ed25519 key pair in two PEM files: the private key readable by its owner only
    (mode 0600). Neither file may exist: a key is never overwritten."""
    for path in (private_path, public_path):
        if path.exists():
            raise CheckpointError(f"{path} exists; a key is never overwritten")
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    _write_new(private_path, private, 0o600)
    try:
        _write_new(public_path, public, 0o644)
    except BaseException:
        private_path.unlink()  # no half a pair left behind
        raise


def _write_new(path: Path, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as file:
        file.write(data)


def load_private_key(path: Path) -> Ed25519PrivateKey:
    key = _load(path, serialization.load_pem_private_key, "private")
    if not isinstance(key, Ed25519PrivateKey):
        raise CheckpointError(f"{path}: not an Ed25519 private key")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    key = _load(path, serialization.load_pem_public_key, "public")
    if not isinstance(key, Ed25519PublicKey):
        raise CheckpointError(f"{path}: not an Ed25519 public key")
    return key


def _load(path: Path, loader: Any, what: str) -> Any:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise CheckpointError(f"{path}: {error.strerror}") from None
    try:
        if what == "private":
            return loader(data, password=None)
        return loader(data)
    except (ValueError, TypeError):
        raise CheckpointError(
            f"{path}: not a PEM {what} key (made by `lotse audit keys`)"
        ) from None


def load_checkpoint(path: Path, key: Ed25519PublicKey) -> CheckpointClaim:
    """The checkpoint in `path`, verified with `key`; errors name the file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise CheckpointError(f"{path}: {error.strerror}") from None
    except ValueError:
        raise CheckpointError(f"{path}: not JSON; a checkpoint is a JSON file") from None
    try:
        return read_checkpoint(data, key)
    except CheckpointError as error:
        raise CheckpointError(f"checkpoint {path}: {error}") from None
