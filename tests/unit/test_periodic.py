"""A periodic task keeps its schedule through failures and stops when cancelled."""

import asyncio
import logging

import asyncpg
import pytest

from runtime.periodic import repeat


async def test_a_failed_round_is_logged_and_the_next_round_runs(caplog):
    rounds = []

    async def task():
        rounds.append(len(rounds))
        if len(rounds) == 1:
            raise ValueError("bad data")
        if len(rounds) == 2:
            raise asyncpg.exceptions.ConnectionDoesNotExistError("gone")

    with caplog.at_level(logging.WARNING, logger="runtime.periodic"):
        running = asyncio.create_task(repeat(task, 0.01, "the job"))
        while len(rounds) < 4:
            await asyncio.sleep(0.005)
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running

    levels = [(r.levelname, r.getMessage().split(";")[0]) for r in caplog.records]
    assert levels[:2] == [("ERROR", "the job failed"),  # a bug: with its traceback
                          ("WARNING", "the job failed (ConnectionDoesNotExistError('gone'))")]
    assert caplog.records[0].exc_info is not None
    assert running.cancelled()
