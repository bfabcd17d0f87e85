"""`loyalty-ops dead-letters`: what the consumers parked on `<topic>.dlq.<group>`.

    list     counts by dead-letter topic and error kind (and each letter with --each)
    show     one letter: its headers decoded, its data with personal data masked
    replay   put letters back on their original topic under their original event id

A replay, per letter, in one transaction of the ops schema: mark it replayed
(`ops.dead_letter_replays`), release its event id from the consumer group's inbox (claimed
when it was dead-lettered; the group's schema has the group's name), publish the record with
its original key, value and headers (less the `dlq_*` ones, plus `ops_replayed_from`), then
commit. The other groups reading the topic had applied the event already: their inboxes
drop it. A letter is replayed once unless `--again`.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import typer
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from rich.progress import track
from rich.table import Column, Table

from contracts import topics
from runtime.personal_data import mask_mobile, mask_openid, redact

from .sql import replays
from .target import Target, console, fail, run, target

app = typer.Typer(help="Dead letters: list, show (masked), replay.", no_args_is_help=True)

#: Longest a read of the dead-letter topics may take.
READ_SECONDS = 120
CONTRACT_TOPICS = sorted(v for k, v in vars(topics).items() if k.endswith("_V1"))
#: Fields of the contracts holding personal data, and how `show` masks them.
_MASKS: dict[str, Callable[[str], str]] = {
    "mobile": mask_mobile, "wechat_openid": mask_openid,
    "family_name": lambda v: v[:1] + "*", "given_name": lambda v: "*" * len(v),
    "birth_date": lambda v: v[:4] + "-**-**",
}


@dataclass(frozen=True)
class DeadLetter:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...]

    @property
    def ref(self) -> str:
        return f"{self.topic}:{self.partition}:{self.offset}"

    @property
    def place(self) -> tuple[str, int, int]:
        return self.topic, self.partition, self.offset

    def header(self, name: str) -> str:
        for key, value in self.headers:
            if key == name:
                return value.decode(errors="replace")
        return ""

    @property
    def event_id(self) -> str | None:
        return self.header("ce_id") or None

    @property
    def error(self) -> str:
        return self.header("dlq_error")


def dead_letter_topics(all_topics: set[str], prefix: str) -> list[str]:
    return sorted(t for t in all_topics for c in CONTRACT_TOPICS
                  if t.startswith(f"{prefix}{c}.dlq."))


async def read(bootstrap: str, prefix: str, topic: str | None = None) -> list[DeadLetter]:
    """Every letter on the dead-letter topics (of one, if `topic` names a dead-letter topic
    or an original topic), from the beginning to the end as of now."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        names = [t for t in dead_letter_topics(set(await admin.list_topics()), prefix)
                 if topic is None or t == topic or t.startswith(f"{topic}.dlq.")]
        parts = [TopicPartition(d["topic"], p["partition"])
                 for d in (await admin.describe_topics(names) if names else [])
                 for p in d["partitions"]]
    finally:
        await admin.close()
    if not parts:
        return []
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                                enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)
        letters: list[DeadLetter] = []
        deadline = time.monotonic() + READ_SECONDS
        while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
            if time.monotonic() > deadline:
                raise TimeoutError(f"dead-letter topics not read to their end in {READ_SECONDS}s")
            for tp, records in (await consumer.getmany(timeout_ms=500)).items():
                letters += [DeadLetter(tp.topic, tp.partition, r.offset, r.key, r.value or b"",
                                       tuple(r.headers)) for r in records
                            if r.offset < ends[tp]]
        return sorted(letters, key=lambda d: d.place)
    finally:
        await consumer.stop()


def masked(value: Any) -> Any:
    """The data with the contracts' personal fields masked, and anything else that looks
    like a mobile number or an openid redacted."""
    if isinstance(value, dict):
        return {k: _MASKS[k](v) if k in _MASKS and isinstance(v, str) else masked(v)
                for k, v in value.items()}
    if isinstance(value, list):
        return [masked(v) for v in value]
    return redact(value) if isinstance(value, str) else value


def shown_value(raw: bytes) -> str:
    try:
        return json.dumps(masked(json.loads(raw)), ensure_ascii=False, indent=2)
    except ValueError:
        return redact(raw.decode(errors="replace"))


def chosen(letters: list[DeadLetter], *, error: str | None, event_id: str | None,
           ref: str | None) -> list[DeadLetter]:
    return [d for d in letters if (error is None or d.error == error)
            and (event_id is None or d.event_id == event_id) and (ref is None or d.ref == ref)]


async def replay(t: Target, letters: list[DeadLetter], *, again: bool,
                 by: str) -> tuple[int, int]:
    """(replayed, skipped as replayed before)."""
    await replays.ensure(t.database_url)
    producer = AIOKafkaProducer(bootstrap_servers=t.bootstrap(), enable_idempotence=True,
                                acks="all", client_id="loyalty-ops")
    await producer.start()
    done = skipped = 0
    try:
        async with t.connect() as conn:
            for letter in track(letters, description="replaying", console=console,
                                disable=len(letters) < 20):
                original, group = (letter.header("dlq_original_topic"),
                                   letter.header("dlq_consumer_group"))
                async with conn.transaction():
                    if not await replays.mark(conn, letter.place, letter.event_id, original,
                                              group, by, again=again):
                        skipped += 1
                        continue
                    if letter.event_id:
                        await replays.release(conn, group, letter.event_id)
                    headers = [(k, v) for k, v in letter.headers if not k.startswith("dlq_")]
                    await producer.send_and_wait(
                        original, letter.value, key=letter.key,
                        headers=[*headers, ("ops_replayed_from", letter.ref.encode())])
                done += 1
    finally:
        await producer.stop()
    return done, skipped


# ---------------------------------------------------------------------- commands

Topic = Annotated[str | None, typer.Option(help="a dead-letter topic, or an original topic"
                                           " (all its groups' dead-letter topics)")]
Error = Annotated[str | None, typer.Option(help="error kind (dlq_error), e.g. handler_error")]


@app.command("list")
def list_(ctx: typer.Context, topic: Topic = None, error: Error = None,
          each: Annotated[bool, typer.Option(help="one line per letter")] = False) -> None:
    """Dead letters by topic and error kind, with how many were replayed."""
    t = target(ctx)
    letters = chosen(run(read(t.bootstrap(), t.topic_prefix, topic)), error=error,
                     event_id=None, ref=None)
    done = run(_replayed(t, letters))
    if each:
        table = Table(Column("letter", overflow="fold"), Column("event id", overflow="fold"),
                      "error", "reason", "failed at", "replayed")
        for d in letters:
            table.add_row(d.ref, d.event_id or "", d.error, redact(d.header("dlq_reason"))[:80],
                          d.header("dlq_failed_at")[:19], done.get(d.place, ""))
    else:
        counts = Counter((d.topic, d.error) for d in letters)
        replayed_counts = Counter((d.topic, d.error) for d in letters if d.place in done)
        table = Table("dead-letter topic", "error", "letters", "replayed")
        for (name, kind), n in sorted(counts.items()):
            table.add_row(name, kind, str(n), str(replayed_counts[name, kind]))
    console.print(table)
    console.print(f"{len(letters)} dead letters, {len(done)} replayed")


@app.command()
def show(ctx: typer.Context, letter: Annotated[str, typer.Argument(
        help="topic:partition:offset as `list --each` prints it, or an event id")]) -> None:
    """One dead letter: headers decoded, data with personal data masked."""
    t = target(ctx)
    letters = run(read(t.bootstrap(), t.topic_prefix))
    found = [d for d in letters if letter in (d.ref, d.event_id)]
    if not found:
        fail(f"no dead letter {letter}", 1)
    for d in found:
        table = Table("header", "value", title=d.ref)
        table.add_row("key", redact((d.key or b"").decode(errors="replace")))
        for name, value in d.headers:
            table.add_row(name, redact(value.decode(errors="replace")))
        console.print(table)
        console.print(shown_value(d.value))


@app.command("replay")
def replay_(ctx: typer.Context,
            letter: Annotated[str | None, typer.Option(
                help="one letter: topic:partition:offset")] = None,
            event_id: Annotated[str | None, typer.Option(help="the letters of an event id")] = None,
            topic: Topic = None, error: Error = None,
            again: Annotated[bool, typer.Option(help="also letters replayed before")] = False,
            ) -> None:
    """Put dead letters back on their original topic under their original event id."""
    t = target(ctx)
    if not (letter or event_id or topic or error):
        fail("say which letters: --letter, --event-id, --topic and/or --error")
    letters = chosen(run(read(t.bootstrap(), t.topic_prefix, topic)), error=error,
                     event_id=event_id, ref=letter)
    if not letters:
        fail("no dead letter matches", 1)
    by = os.environ.get("USER") or "ops"
    done, skipped = run(replay(t, letters, again=again, by=by))
    console.print(f"replayed {done} dead letters, {skipped} skipped (replayed before)")


async def _replayed(t: Target, letters: list[DeadLetter]) -> dict[tuple[str, int, int], str]:
    await replays.ensure(t.database_url)
    async with t.connect() as conn:
        return await replays.replayed(conn, [d.place for d in letters])
