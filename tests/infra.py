"""Where the tests find a real Kafka broker and PostgreSQL, in this order:
1. KAFKA_BOOTSTRAP_SERVERS and DATABASE_URL from the environment;
2. testcontainers, when a Docker engine answers (Docker, or podman's Docker API:
   scripts/test-containers);
3. the project's own launcher (deploy/local/launcher.py), which starts both natively.
There is no fourth option: without a broker and a database the integration tests fail,
they are never skipped.

testcontainers starts the upstream images (Confluent's Kafka, postgres:15) unless
LOYALTY_KAFKA_IMAGE / LOYALTY_POSTGRES_IMAGE name the project's own (deploy/image: built
locally where no registry is reachable). The project's Kafka image is started as a plain
container whose client listener is published on a free host port it also advertises."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
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
        from testcontainers.postgres import PostgresContainer

        postgres = PostgresContainer(os.environ.get("LOYALTY_POSTGRES_IMAGE", "postgres:15"))
        with kafka_container() as bootstrap, postgres as pg:
            yield {
                "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
                "DATABASE_URL": pg.get_connection_url(driver=None),
            }
        return
    if os.environ.get("LOYALTY_REQUIRE_CONTAINERS") == "1":
        raise RuntimeError("LOYALTY_REQUIRE_CONTAINERS=1 but no Docker engine answers at "
                           f"{os.environ.get('DOCKER_HOST', 'the default socket')}")
    from deploy.local import launcher

    yield launcher.up()


@contextlib.contextmanager
def kafka_container() -> Iterator[str]:
    """A Kafka broker in a container; yields its bootstrap address."""
    image = os.environ.get("LOYALTY_KAFKA_IMAGE")
    if not image:
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer().with_kraft() as kafka:
            yield kafka.get_bootstrap_server()
        return
    from testcontainers.core.container import DockerContainer

    port = _free_port()
    address = f"127.0.0.1:{port}"
    container = (DockerContainer(image)
                 .with_env("KAFKA_EXTERNAL_ADVERTISED", address)
                 .with_bind_ports(9094, port))
    with container:
        _wait_for_kafka(address, timeout=120)
        yield address


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_kafka(address: str, timeout: float) -> None:
    async def metadata() -> None:
        from aiokafka.admin import AIOKafkaAdminClient

        admin = AIOKafkaAdminClient(bootstrap_servers=address, request_timeout_ms=3000)
        await admin.start()
        try:
            await admin.list_topics()
        finally:
            await admin.close()

    deadline = time.monotonic() + timeout
    while True:
        try:
            asyncio.run(metadata())
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
