"""Which failures the message path retries (transient) and which it replays or dead-letters."""

import asyncpg
import pytest
from aiokafka.errors import KafkaConnectionError, RecordTooLargeError

from runtime.retry import is_transient


def _postgres(sqlstate: str) -> asyncpg.PostgresError:
    error = asyncpg.PostgresError("x")
    error.sqlstate = sqlstate
    return error


@pytest.mark.parametrize(("exc", "transient"), [
    (_postgres("40P01"), True),    # deadlock
    (_postgres("40001"), True),    # serialization failure
    (_postgres("57P01"), True),    # admin shutdown (failover)
    (_postgres("08006"), True),    # connection failure
    (_postgres("23505"), False),   # unique violation: a bug, not the network
    (_postgres("22P02"), False),   # bad input
    (asyncpg.InterfaceError("connection is closed"), True),
    (asyncpg.InternalClientError("cannot switch to state 15"), True),
    (ConnectionResetError(), True),
    (TimeoutError(), True),
    (KafkaConnectionError(), True),
    (RecordTooLargeError(), False),
    (ValueError("bad"), False),
])
def test_transient_classification(exc: BaseException, transient: bool) -> None:
    assert is_transient(exc) is transient
