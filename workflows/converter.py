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


OPERATOR_FACING = frozenset(
    {"InvalidDeclarationError", "InvalidRegistrationError", "InvalidInput", "UpdateRefused"}
)
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
            if _operator_facing(node):
                node.stack_trace = ""
            node = node.cause if node.HasField("cause") else None


class SealingFailureConverter(LotseFailureConverter):
    """`LotseFailureConverter` for a data converter with the payload codec: every failure that
    is not written for the operator (a retryable error, a timeout, a wrapper) has its message
    and stack trace moved into the encoded attributes, which the codec encrypts (Temporal's
    `encode_common_attributes`).

    Operator-facing refusals stay readable: the UI's update dialog shows a failure's message as
    the server returns it, without asking the codec server, and these messages never repeat
    the refused input. Anything else (an unexpected error's text, a traceback) may quote data,
    and the UI's history view decodes encoded attributes through the codec server."""

    def to_failure(
        self, exception: BaseException, payload_converter: PayloadConverter, failure: Failure
    ) -> None:
        super().to_failure(exception, payload_converter, failure)
        node: Failure | None = failure
        while node is not None:
            if not _operator_facing(node) and (node.message or node.stack_trace):
                node.encoded_attributes.CopyFrom(
                    payload_converter.to_payloads(
                        [{"message": node.message, "stack_trace": node.stack_trace}]
                    )[0]
                )
                node.message = "Encoded failure"
                node.stack_trace = ""
            node = node.cause if node.HasField("cause") else None


def _operator_facing(node: Failure) -> bool:
    """The words-for-people test of `LotseFailureConverter`: refusals, invalid input and final
    business failures (a domain refusal reaches the operator's update dialog as one)."""
    if not node.HasField("application_failure_info"):
        return False
    info = node.application_failure_info
    return info.type in OPERATOR_FACING or info.non_retryable


data_converter = DataConverter(
    payload_converter_class=LotsePayloadConverter, failure_converter_class=LotseFailureConverter
)
"""Lotse's converter without the payload codec: for replaying histories recorded before the
codec, and the base of `bootstrap.build_data_converter`, which every client and worker uses."""
