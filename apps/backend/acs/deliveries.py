"""A whole delivery (Event Grid webhook POST, or ACS callback POST) validated before anything acts on it.

Every event is checked first; one bad event rejects the delivery with a 4xx naming its index and field, so
nothing is half-applied and nothing is dropped silently.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from apps.backend.acs.events import (
    INCOMING_CALL_EVENT,
    VALIDATION_EVENT,
    CloudEvent,
    EventGridEvent,
    IncomingCallData,
    SubscriptionValidationData,
)

MAX_DELIVERY_BYTES = 256 * 1024
# Event Grid sends one event per POST unless the subscription batches; ACS one callback per POST.
MAX_EVENTS_PER_DELIVERY = 10


class DeliveryError(Exception):
    """The delivery is rejected as a whole; `status` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class IncomingCall:
    event_id: str
    data: IncomingCallData


@dataclass
class EventGridDelivery:
    events: int
    validation: SubscriptionValidationData | None = None
    incoming_calls: list[IncomingCall] = field(default_factory=list)
    ignored_types: list[str] = field(default_factory=list)


def _count_checked(items: Sequence[Any]) -> None:
    if not items:
        raise DeliveryError(400, "the delivery holds no events")
    if len(items) > MAX_EVENTS_PER_DELIVERY:
        raise DeliveryError(
            413,
            f"a delivery may hold at most {MAX_EVENTS_PER_DELIVERY} events, this one holds {len(items)} "
            f"(set the subscription's max events per batch to {MAX_EVENTS_PER_DELIVERY} or fewer)",
        )


def _where(index: int, exc: ValidationError, prefix: str = "") -> str:
    """`event 3: data.from.rawId: Field required` (the first problem; never the offending value)."""
    error = exc.errors(include_input=False, include_url=False)[0]
    parts = ([prefix] if prefix else []) + [str(part) for part in error["loc"]]
    loc = ".".join(parts)
    return f"event {index}: {loc or 'event'}: {error['msg']}"


M = TypeVar("M", bound=BaseModel)


def _validate(model: type[M], value: Any, index: int, prefix: str = "") -> M:
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        raise DeliveryError(400, _where(index, exc, prefix)) from exc


def parse_event_grid_delivery(items: Sequence[Any]) -> EventGridDelivery:
    _count_checked(items)
    delivery = EventGridDelivery(events=len(items))
    for index, item in enumerate(items):
        event = _validate(EventGridEvent, item, index)
        if event.event_type == VALIDATION_EVENT:
            delivery.validation = _validate(SubscriptionValidationData, event.data, index, "data")
        elif event.event_type == INCOMING_CALL_EVENT:
            data = _validate(IncomingCallData, event.data, index, "data")
            delivery.incoming_calls.append(IncomingCall(event.id, data))
        else:
            delivery.ignored_types.append(event.event_type)
    return delivery


def parse_callback_delivery(items: Sequence[Any]) -> list[CloudEvent]:
    _count_checked(items)
    return [_validate(CloudEvent, item, index) for index, item in enumerate(items)]
