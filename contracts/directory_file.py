"""Reading the directory of support offers from its TOML file (`agreements/support-offers.toml`).

A malformed file is refused with one message that names the file, the offer (by its id, not
only its position) and the problem.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from contracts.agreement import describe_validation_error
from contracts.offers import DirectoryTerms


class DirectoryFileError(ValueError):
    """The directory file cannot be used; the message names the file, offer and problem."""


def load_directory_file(path: Path) -> DirectoryTerms:
    """Read and validate a directory file, or raise `DirectoryFileError` saying what is wrong."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DirectoryFileError(f"{path}: no such file") from None
    except OSError as error:
        raise DirectoryFileError(f"{path}: cannot be read: {error.strerror or error}") from None
    except tomllib.TOMLDecodeError as error:
        raise DirectoryFileError(f"{path}: not valid TOML: {error}") from None
    try:
        return DirectoryTerms.model_validate(raw)
    except ValidationError as error:
        problems = [_named(problem, raw) for problem in describe_validation_error(error)]
        raise DirectoryFileError(f"{path}: {'; '.join(problems)}") from None


_ENTRY = re.compile(r"^(?P<table>offers|providers)\[(?P<index>[0-9]+)\]")


def _named(problem: str, raw: dict[str, Any]) -> str:
    """`offers[3].capacity: …` becomes `offers[3] (offer 'ohs-dresden').capacity: …`: a file
    of thirty offers is searched by id, not counted."""
    found = _ENTRY.match(problem)
    if found is None:
        return problem
    entries = raw.get(found["table"])
    index = int(found["index"])
    if not isinstance(entries, list) or index >= len(entries):
        return problem
    entry = entries[index]
    entry_id = entry.get("id") if isinstance(entry, dict) else None
    if not isinstance(entry_id, str):
        return problem
    what = "offer" if found["table"] == "offers" else "provider"
    return f"{found[0]} ({what} '{entry_id}'){problem[found.end() :]}"
