"""The seeded input both runs get, and the two orders it is delivered in.

From the simulator (simulator/): customers, card purchases with refunds, refunds before their
purchase and duplicate deliveries (`generate_batch`); added here, from the same seed: the
months of asset snapshots before the last one (a tier is decided from the history), profile
changes during the card window and, if asked, closures after it.

Natural order (the clean run): onboardings, snapshots, card transactions, profile changes,
each applied everywhere before the next is published (`in_order` cuts them in chunks, for a
chaos run with faults only). Disordered (the chaos run): the three
topics interleaved in chunks, each chunk holding one topic back (its share comes with a later
chunk), so that customers, snapshots and card transactions each run behind the others at
times; the order within a topic is kept, as a producer keeps it.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from contracts.envelope import EncodedEvent
from simulator.batch import DEFAULT_SPAN, generate_batch, snapshots_for
from simulator.encoding import to_record
from simulator.population import CLOSE_REASONS, changed_profile, closed, make_customers, updated
from simulator.spending import SHANGHAI, SpendingProfile

CUSTOMERS, SNAPSHOTS, TRANSACTIONS = "customers", "snapshots", "transactions"


@dataclass
class Input:
    onboardings: list[EncodedEvent]
    snapshots: list[EncodedEvent]  # oldest month first
    transactions: list[EncodedEvent]  # in the simulator's delivery order
    changes: list[EncodedEvent]  # profile updates and closures, by time
    member_ids: list[str]
    counts: dict[str, int] = field(default_factory=dict)

    def natural(self) -> list[list[EncodedEvent]]:
        """The clean run's phases, each to be applied before the next is published."""
        return [p for p in (self.onboardings, self.snapshots, self.transactions, self.changes)
                if p]

    def in_order(self, chunks: int) -> list[list[list[EncodedEvent]]]:
        """The natural phases cut into `chunks` chunks in all (at least one a phase, the
        more the larger the phase): to publish with faults between chunks, each phase
        applied before the next."""
        phases = self.natural()
        total = sum(map(len, phases))
        counts = [1] * len(phases)
        for _ in range(max(0, chunks - len(phases))):
            counts[max(range(len(phases)), key=lambda i: len(phases[i]) / counts[i])] += 1
        return [[phase[len(phase) * k // n:len(phase) * (k + 1) // n] for k in range(n)]
                for phase, n in zip(phases, counts, strict=True)] if total else []

    def disordered(self, rng: random.Random, chunks: int) -> list[list[EncodedEvent]]:
        """`chunks` chunks to publish one after the other. In each but the last one topic
        is held back; the last one brings whatever is left."""
        streams = {CUSTOMERS: [*self.onboardings, *self.changes], SNAPSHOTS: self.snapshots,
                   TRANSACTIONS: self.transactions}
        done = dict.fromkeys(streams, 0)
        owed = dict.fromkeys(streams, 0.0)
        held, turns = None, []
        out = []
        for i in range(chunks):
            last = i == chunks - 1
            if not turns:  # every topic is held back once in each round of three chunks
                turns = rng.sample(list(streams), len(streams))
                if turns[-1] == held:
                    turns.reverse()
            held = None if last else turns.pop()
            parts = {}
            for name, records in streams.items():
                owed[name] += len(records) / chunks
                if name == held:
                    continue
                end = len(records) if last else min(len(records), done[name] + round(owed[name]))
                parts[name] = records[done[name]:end]
                owed[name] -= end - done[name]
                done[name] = end
            out.append(_interleave(rng, parts))
        return out

    @property
    def records(self) -> int:
        return sum(map(len, (self.onboardings, self.snapshots, self.transactions, self.changes)))


def generate(seed: int, transactions: int, customers: int, *, months: int = 4,
             update_share: float = 0.2, close_share: float = 0.0) -> Input:
    """`transactions` purchases by `customers` customers over the last day, `months` months
    of snapshots, profile changes for `update_share` of the customers and closures of
    `close_share` of them after the card window."""
    span = DEFAULT_SPAN
    refund_delay = SpendingProfile().refund_delay_s[1]
    start = (datetime.now(SHANGHAI) - span - timedelta(seconds=refund_delay)).replace(
        microsecond=0)
    batch = generate_batch(transactions, customers, seed, start=start, span=span)
    # generate_batch draws its customers first from Random(seed): the same people again.
    people = make_customers(random.Random(seed), customers, start)
    ids = [c.customer_id for c in people]
    if ids != [r.key.decode() for r in batch.customers]:
        raise RuntimeError("simulator.batch no longer draws its customers first")
    rng = random.Random(f"chaos:{seed}")
    history = []
    for back in range(months, 1, -1):  # the batch has the last month (back = 1)
        month_start = _month_start(start, back)
        history += snapshots_for(rng, people, f"{month_start:%Y-%m}",
                                 _month_start(start, back - 1).replace(hour=2))
    end = start + span + timedelta(seconds=refund_delay)
    changes = _profile_changes(rng, people, round(customers * update_share), start, span)
    changes += [(at, to_record(rng, closed(c, at, rng.choice(CLOSE_REASONS)), at))
                for c in rng.sample(people, round(customers * close_share))
                for at in [end + timedelta(seconds=rng.uniform(60, 600))]]
    changes.sort(key=lambda pair: pair[0])
    result = Input(batch.customers, [*history, *batch.snapshots], batch.transactions,
                   [record for _, record in changes], ids)
    result.counts = {**batch.counts, "customers": customers, "snapshots": len(result.snapshots),
                     "profile_changes": round(customers * update_share),
                     "closures": round(customers * close_share),
                     "card_records": len(batch.transactions), "records": result.records}
    return result


def _month_start(at: datetime, back: int) -> datetime:
    """Midnight of the first day of the month `back` months before `at`'s."""
    index = at.year * 12 + at.month - 1 - back
    return at.replace(year=index // 12, month=index % 12 + 1, day=1, hour=0, minute=0,
                      second=0)


def _profile_changes(rng: random.Random, people: list, count: int, start: datetime,
                     span: timedelta) -> list[tuple[datetime, EncodedEvent]]:
    """`count` profile changes during the card window, each building on the customer's
    previous one."""
    current = {c.customer_id: c for c in people}
    times = sorted(start + span * rng.random() for _ in range(count))
    out = []
    for at in times:
        customer = changed_profile(rng, current[rng.choice(people).customer_id])
        current[customer.customer_id] = customer
        out.append((at, to_record(rng, updated(customer, at), at)))
    return out


def _interleave(rng: random.Random, parts: dict[str, Sequence[EncodedEvent]]
                ) -> list[EncodedEvent]:
    """The parts merged at random, each part's order kept."""
    labels = [name for name, part in parts.items() for _ in part]
    rng.shuffle(labels)
    position: dict[str, int] = defaultdict(int)
    out = []
    for name in labels:
        out.append(parts[name][position[name]])
        position[name] += 1
    return out
