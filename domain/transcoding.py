"""Lets the eventsourcing JSON transcoder store the pydantic models that events carry."""

from __future__ import annotations

from typing import Any

from eventsourcing.persistence import Transcoding
from pydantic import BaseModel


class PydanticModelAsDict(Transcoding):
    """Stores one pydantic model class as its JSON-mode dict and validates it on the way back."""

    def __init__(self, model: type[BaseModel]) -> None:
        self.type = model
        self._model = model
        self.name = f"pydantic:{model.__module__}.{model.__qualname__}"

    def encode(self, obj: BaseModel) -> dict[str, Any]:
        return obj.model_dump(mode="json")

    def decode(self, data: dict[str, Any]) -> BaseModel:
        return self._model.model_validate(data)
