"""The data converter of Lotse: Temporal's pydantic converter, with input errors people can read.

Temporal's decoder wraps a pydantic error as "Failed decoding arguments" and hides the fields in
a nested cause. An update pasted into the UI with a missing or wrong field is refused instead
with one message naming every field, as the CLI does.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import PydanticJSONPlainPayloadConverter
from temporalio.converter import (
    CompositePayloadConverter,
    DataConverter,
    DefaultPayloadConverter,
    JSONPlainPayloadConverter,
)
from temporalio.exceptions import ApplicationError

from contracts.agreement import describe_validation_error


class _ExplainingJSONConverter(PydanticJSONPlainPayloadConverter):
    def from_payload(self, payload: Payload, type_hint: type | None = None) -> Any:
        try:
            return super().from_payload(payload, type_hint)
        except ValidationError as error:
            name = getattr(type_hint, "__name__", "input")
            problems = "; ".join(describe_validation_error(error))
            raise ApplicationError(
                f"invalid {name}: {problems}", type="InvalidInput", non_retryable=True
            ) from None


class LotsePayloadConverter(CompositePayloadConverter):
    """Pydantic JSON for every value; decoding errors name each bad field."""

    def __init__(self) -> None:
        super().__init__(
            *(
                _ExplainingJSONConverter() if isinstance(c, JSONPlainPayloadConverter) else c
                for c in DefaultPayloadConverter.default_encoding_payload_converters
            )
        )


data_converter = DataConverter(payload_converter_class=LotsePayloadConverter)
"""Use this on every client and worker of Lotse (it is Temporal's pydantic converter otherwise)."""
