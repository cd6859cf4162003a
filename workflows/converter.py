"""The data converter of Lotse: Temporal's pydantic converter, with input errors people can read.

Temporal's decoder wraps a pydantic error as "Failed decoding arguments" and hides the fields in
a nested cause. An update pasted into the UI with a missing or wrong field is refused instead
with one message naming every field, as the CLI does.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from temporalio.api.common.v1 import Payload
from temporalio.api.failure.v1 import Failure
from temporalio.contrib.pydantic import PydanticJSONPlainPayloadConverter
from temporalio.converter import (
    CompositePayloadConverter,
    DataConverter,
    DefaultFailureConverter,
    DefaultPayloadConverter,
    JSONPlainPayloadConverter,
    PayloadConverter,
)
from temporalio.exceptions import ApplicationError

from contracts.agreement import explain_validation_error


class _ExplainingJSONConverter(PydanticJSONPlainPayloadConverter):
    def from_payload(self, payload: Payload, type_hint: type | None = None) -> Any:
        try:
            return super().from_payload(payload, type_hint)
        except ValidationError as error:
            name = getattr(type_hint, "__name__", "input")
            problems = explain_validation_error(error)
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


OPERATOR_FACING = frozenset({"InvalidDeclarationError", "InvalidInput", "UpdateRefused"})
"""Failure types whose message is written for the operator (refusals, invalid input)."""


class LotseFailureConverter(DefaultFailureConverter):
    """Temporal's failure converter, without a Python stack trace under the operator's
    message: refusals and final business failures are words for people, and the UI would
    otherwise show the worker's traceback beneath them."""

    def to_failure(
        self, exception: BaseException, payload_converter: PayloadConverter, failure: Failure
    ) -> None:
        super().to_failure(exception, payload_converter, failure)
        node: Failure | None = failure
        while node is not None:
            info = (
                node.application_failure_info if node.HasField("application_failure_info") else None
            )
            if info is not None and (info.type in OPERATOR_FACING or info.non_retryable):
                node.stack_trace = ""
            node = node.cause if node.HasField("cause") else None


data_converter = DataConverter(
    payload_converter_class=LotsePayloadConverter, failure_converter_class=LotseFailureConverter
)
"""Use this on every client and worker of Lotse (it is Temporal's pydantic converter otherwise)."""
