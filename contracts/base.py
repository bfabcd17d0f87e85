"""Base class of every event model.

Consumers ignore unknown fields (`extra="ignore"`), so a producer may add optional fields
inside a major version; producers are held to the exact shape by the contract tests.
"""

from typing import ClassVar

from pydantic import BaseModel, ConfigDict


class Event(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    #: CloudEvents `type`, e.g. "points.earned"; unique across all contracts.
    ce_type: ClassVar[str]
    #: The topic this event is published on.
    topic: ClassVar[str]
    #: Name of the field that holds the member (customer) id: the Kafka key and `ce_subject`.
    subject_field: ClassVar[str] = "member_id"
    #: A request waits for this event (a saga's hop): its relay publishes it at once,
    #: where other events wait a moment for more to share the batch (runtime/relay.py).
    awaited: ClassVar[bool] = False

    @property
    def subject(self) -> str:
        return str(getattr(self, self.subject_field))


class EventPart(BaseModel):
    """A value nested inside an event; as tolerant of unknown fields as the event itself."""

    model_config = ConfigDict(extra="ignore", frozen=True)
