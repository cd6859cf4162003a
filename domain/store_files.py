"""Files Lotse keeps beside the SQLite event store (the person keys, the people view)."""

from __future__ import annotations

from pathlib import Path


def sqlite_beside(event_store_dbname: str, file_name: str) -> str:
    """`file_name` beside the event store's file: `events.sqlite` → `file_name`,
    `other.sqlite` → `other-file_name`; an in-memory event store → `:memory:`."""
    if event_store_dbname == ":memory:" or "mode=memory" in event_store_dbname:
        return ":memory:"
    path = Path(event_store_dbname.removeprefix("file:").split("?", 1)[0])
    name = file_name if path.stem == "events" else f"{path.stem}-{file_name}"
    return str(path.with_name(name))
