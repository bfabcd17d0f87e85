"""Client created / activated -> corebanking.customer.onboarded, once per client (the first
event that shows it active; its id derives from that event's idempotency key). A client the
contract cannot carry (no date of birth, no mainland mobile, ...) is dead-lettered with
the reason."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import ValidationError

from contracts.corebanking.v1 import CustomerOnboarded
from runtime.consumer import Inbound
from runtime.unit_of_work import UnitOfWork

from .. import metrics
from ..domain.clients import ClientRefused, customer_id, profile
from ..messages import FineractEvent
from ..sql import clients as sql


class OnClients:
    def __init__(self, genders: Mapping[str, str], language: str,
                 office_ids: frozenset[int]) -> None:
        self.genders = dict(genders)
        self.language = language
        self.office_ids = office_ids

    async def __call__(self, uow: UnitOfWork, batch: list[Inbound[FineractEvent]]) -> None:
        onboardings: dict[int, tuple[Inbound, str, CustomerOnboarded | None]] = {}
        for inbound in batch:
            event = inbound.event
            client = event.data
            if not client.get("active"):
                metrics.ignored("client_not_active", event.type)  # its activation will come
                continue
            included = not self.office_ids or client.get("officeId") in self.office_ids
            try:
                customer = customer_id(client["id"])
                onboarded = CustomerOnboarded(
                    **profile(client, self.genders, self.language),
                    onboarded_at=event.created_at) if included else None
            except (ClientRefused, ValidationError) as exc:
                uow.reject(inbound, f"client {client.get('id')}: {_reason(exc)}")
                continue
            onboardings.setdefault(client["id"], (inbound, customer, onboarded))
        if not onboardings:
            return
        fresh = await sql.insert_clients(uow.conn, [
            (client_id, customer, onboarded is not None, inbound.event.created_at)
            for client_id, (inbound, customer, onboarded) in onboardings.items()])
        for client_id, (inbound, _, onboarded) in onboardings.items():
            if onboarded is None:
                metrics.ignored("other_office", inbound.event.type)
            elif client_id in fresh:
                uow.emit(onboarded, inbound)


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
    return str(exc)
