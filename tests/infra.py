"""Where the tests find a real Kafka broker and PostgreSQL, in this order:
1. KAFKA_BOOTSTRAP_SERVERS and DATABASE_URL from the environment;
2. testcontainers, when a Docker engine answers;
3. the project's own launcher (deploy/local/launcher.py), which starts both natively.
There is no fourth option: without a broker and a database the integration tests fail,
they are never skipped."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator


def docker_answers() -> bool:
    try:
        import docker

        docker.from_env(timeout=3).ping()
        return True
    except Exception:
        return False


@contextlib.contextmanager
def real_infrastructure() -> Iterator[dict[str, str]]:
    given = {k: os.environ.get(k) for k in ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL")}
    if all(given.values()):
        yield given  # type: ignore[misc]
        return
    if docker_answers():
        from testcontainers.kafka import KafkaContainer
        from testcontainers.postgres import PostgresContainer

        with KafkaContainer().with_kraft() as kafka, PostgresContainer("postgres:15") as pg:
            yield {
                "KAFKA_BOOTSTRAP_SERVERS": kafka.get_bootstrap_server(),
                "DATABASE_URL": pg.get_connection_url(driver=None),
            }
        return
    from deploy.local import launcher

    yield launcher.up()
