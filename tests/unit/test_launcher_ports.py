"""The launcher tells its own Kafka and PostgreSQL from whatever else answers on their
ports, and says whose it is and what to do (deploy/local/ports.py)."""

import os
import socket

from deploy.local import launcher, ports


def test_the_process_listening_on_a_port_is_found_with_its_pid_and_command(tmp_path):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        found = ports.listener(port)
    assert found is not None
    assert found.pid == os.getpid()
    assert "python" in found.command
    assert found.cwd == os.getcwd()


def test_nobody_listens_on_a_closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound, never listening
        assert ports.listener(port) is None


def test_the_message_names_the_holder_and_both_fixes(tmp_path):
    holder = ports.Listener(4242, "/usr/lib/postgresql/15/bin/postgres -D /other/data",
                            "/other/data")
    message = ports.foreign("PostgreSQL", 15432, tmp_path, holder)
    assert "port 15432 is taken by pid 4242" in message
    assert "/other/data" in message and str(tmp_path) in message
    assert "scripts/infra down" in message
    assert "LOYALTY_PG_PORT" in message and "LOYALTY_KAFKA_PORT" in message


def test_a_cluster_without_a_running_postmaster_of_ours_is_not_ours(tmp_path):
    assert not launcher.pg_is_ours(tmp_path)
    (tmp_path / "postmaster.pid").write_text("999999999\n/elsewhere\n")
    assert not launcher.pg_is_ours(tmp_path)
    paths = launcher.KafkaPaths(tmp_path)
    assert not launcher.kafka_is_ours(paths, launcher.KAFKA_PORT)
