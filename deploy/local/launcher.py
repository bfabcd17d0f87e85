"""Start, check and stop a real Kafka broker (KRaft) and PostgreSQL on loopback.

    python -m deploy.local.launcher up      # start what is not running, wait until it serves
    python -m deploy.local.launcher up --prometheus   # and Prometheus (scripts/run)
    python -m deploy.local.launcher env     # print KAFKA_BOOTSTRAP_SERVERS / DATABASE_URL
    python -m deploy.local.launcher status
    python -m deploy.local.launcher down

Everything lives under `.local/` (or $LOYALTY_LOCAL_DIR). Kafka's jars come from Maven
Central through `deploy/kafka/pom.xml`; PostgreSQL from the distribution's packages, run as
its own `postgres` user when we are root. Running `up` twice is harmless.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from base64 import urlsafe_b64encode
from dataclasses import dataclass
from pathlib import Path

from deploy.local import ports

ROOT = Path(__file__).resolve().parents[2]
POM = ROOT / "deploy" / "kafka" / "pom.xml"
KAFKA_LOG4J = ROOT / "deploy" / "kafka" / "log4j2.properties"

KAFKA_PORT = int(os.environ.get("LOYALTY_KAFKA_PORT", "19092"))
CONTROLLER_PORT = KAFKA_PORT + 1
PG_PORT = int(os.environ.get("LOYALTY_PG_PORT", "15432"))
PROMETHEUS_PORT = int(os.environ.get("LOYALTY_PROMETHEUS_PORT", "19090"))
PROMETHEUS_CONFIG = ROOT / "deploy" / "prometheus" / "prometheus.yml"
PG_USER = "loyalty"
PG_DATABASE = "loyalty"
HOST = "127.0.0.1"


def state_dir() -> Path:
    return Path(os.environ.get("LOYALTY_LOCAL_DIR", ROOT / ".local")).resolve()


def log(message: str) -> None:
    print(f"[launcher] {message}", file=sys.stderr, flush=True)


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((HOST, port)) == 0


class ProcessExited(RuntimeError):
    """The process we wait for is gone: waiting longer cannot help."""


def wait_for(what: str, check, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except ProcessExited:
            raise
        except Exception as exc:  # the service is still starting
            last = exc
        else:
            last = None
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not come up within {timeout:.0f}s ({last})")
        time.sleep(0.3)


# --------------------------------------------------------------------------- Kafka


@dataclass(frozen=True)
class KafkaPaths:
    home: Path

    @property
    def libs(self) -> Path:
        return self.home / "libs"

    @property
    def data(self) -> Path:
        return self.home / "data"

    @property
    def config(self) -> Path:
        return self.home / "server.properties"

    @property
    def pid(self) -> Path:
        return self.home / "kafka.pid"

    @property
    def log(self) -> Path:
        return self.home / "kafka.log"


def kafka_version() -> str:
    text = POM.read_text()
    return text.split("<kafka.version>", 1)[1].split("<", 1)[0]


def fetch_kafka(paths: KafkaPaths) -> None:
    stamp = paths.libs / ".version"
    wanted = f"{kafka_version()}:{hash_file(POM)}"
    if stamp.exists() and stamp.read_text() == wanted:
        return
    log(f"fetching Apache Kafka {kafka_version()} jars with Maven")
    shutil.rmtree(paths.libs, ignore_errors=True)
    subprocess.run(
        ["mvn", "-q", "-B", "-Dstyle.color=never", "-f", str(POM), "dependency:copy-dependencies",
         f"-DoutputDirectory={paths.libs}", "-DincludeScope=runtime"],
        check=True,
    )
    stamp.write_text(wanted)


def hash_file(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def kafka_properties(paths: KafkaPaths) -> str:
    return f"""\
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@{HOST}:{CONTROLLER_PORT}
listeners=PLAINTEXT://{HOST}:{KAFKA_PORT},CONTROLLER://{HOST}:{CONTROLLER_PORT}
advertised.listeners=PLAINTEXT://{HOST}:{KAFKA_PORT}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs={paths.data}
num.partitions=6
default.replication.factor=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=12
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
# Services create their topics explicitly; a typo must fail, not create a new topic.
auto.create.topics.enable=false
log.retention.hours=168
log.segment.bytes=268435456
num.network.threads=2
num.io.threads=4
"""


def java_command(paths: KafkaPaths, main: str, *args: str) -> list[str]:
    return [
        "java", "-Xms512m", "-Xmx2g", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={KAFKA_LOG4J}",
        f"-Dkafka.logs.dir={paths.home / 'logs'}",
        "-cp", f"{paths.libs}/*", main, *args,
    ]


def pid_alive(pid_file: Path) -> int | None:
    try:
        pid = int(pid_file.read_text())
        os.kill(pid, 0)
    except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
        return None
    return pid


def kafka_serves() -> bool:
    """True once a topic can be created (and so metadata and the controller work)."""

    async def probe() -> bool:
        from aiokafka.admin import AIOKafkaAdminClient, NewTopic
        from aiokafka.errors import TopicAlreadyExistsError

        admin = AIOKafkaAdminClient(bootstrap_servers=f"{HOST}:{KAFKA_PORT}",
                                    request_timeout_ms=5000)
        await admin.start()
        try:
            try:
                await admin.create_topics([NewTopic("_launcher.health", 1, 1)])
            except TopicAlreadyExistsError:
                pass
            return "_launcher.health" in await admin.list_topics()
        finally:
            await admin.close()

    return port_open(KAFKA_PORT) and asyncio.run(probe())


def kafka_is_ours(paths: KafkaPaths, port: int) -> bool:
    """Our broker's pid file names the process listening on `port` (when /proc says)."""
    pid = pid_alive(paths.pid)
    found = ports.listener(port)
    return pid is not None and (found is None or found.pid == pid)


def kafka_up() -> None:
    paths = KafkaPaths(state_dir() / "kafka")
    paths.home.mkdir(parents=True, exist_ok=True)
    for port in (KAFKA_PORT, CONTROLLER_PORT):
        if port_open(port) and not kafka_is_ours(paths, port):
            raise RuntimeError(ports.foreign("Kafka", port, paths.home, ports.listener(port)))
    if pid_alive(paths.pid) and kafka_serves():
        log(f"Kafka already serving on {HOST}:{KAFKA_PORT}")
        return
    if port_open(KAFKA_PORT):
        raise RuntimeError(f"port {KAFKA_PORT}: our Kafka (pid file {paths.pid}) answers but"
                           " does not serve; `scripts/infra down` and up again")
    fetch_kafka(paths)
    paths.config.write_text(kafka_properties(paths))
    if not (paths.data / "meta.properties").exists():
        cluster_id = urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        log(f"formatting Kafka storage (cluster {cluster_id})")
        subprocess.run(
            java_command(paths, "kafka.tools.StorageTool", "format", "--config",
                         str(paths.config), "--cluster-id", cluster_id),
            check=True, stdout=subprocess.DEVNULL,
        )
    started = time.monotonic()
    with paths.log.open("ab") as out:
        proc = subprocess.Popen(
            java_command(paths, "kafka.Kafka", str(paths.config)),
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,  # outlives the launcher; `down` stops it
        )
    paths.pid.write_text(str(proc.pid))
    wait_for("Kafka", lambda: _alive(proc, paths.log) and kafka_serves(), timeout=120)
    log(f"Kafka {kafka_version()} serving on {HOST}:{KAFKA_PORT} "
        f"after {time.monotonic() - started:.1f}s (log: {paths.log})")


def _alive(proc: subprocess.Popen, logfile: Path) -> bool:
    if proc.poll() is not None:
        tail = logfile.read_text(errors="replace")[-2000:]
        raise ProcessExited(f"process exited with {proc.returncode}:\n{tail}")
    return True


def stop_pid(name: str, pid_file: Path, timeout: float = 60) -> None:
    pid = pid_alive(pid_file)
    if pid is None:
        log(f"{name} is not running")
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    else:
        log(f"{name} did not stop in {timeout:.0f}s; killing it")
        os.kill(pid, signal.SIGKILL)
    pid_file.unlink(missing_ok=True)
    log(f"{name} stopped")


# --------------------------------------------------------------------------- PostgreSQL


def pg_bindir() -> Path:
    if configured := os.environ.get("LOYALTY_PG_BINDIR"):
        return Path(configured)
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
                        key=lambda p: int(p.parent.parent.name))
    if not candidates:
        raise RuntimeError("PostgreSQL server binaries not found; run scripts/bootstrap "
                           "(it installs the distribution's postgresql package)")
    return candidates[-1].parent


def as_postgres(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    """PostgreSQL refuses to run as root: drop to its own user when we are root."""
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--", *cmd]
    return subprocess.run(cmd, check=True, **kwargs)


def pg_dirs() -> tuple[Path, Path]:
    home = state_dir() / "postgres"
    return home, home / "data"


def pg_password() -> str:
    home, _ = pg_dirs()
    return (home / "password").read_text().strip()


def database_url() -> str:
    return f"postgresql://{PG_USER}:{pg_password()}@{HOST}:{PG_PORT}/{PG_DATABASE}"


def pg_serves() -> bool:
    async def probe() -> bool:
        import asyncpg

        conn = await asyncpg.connect(database_url(), timeout=5)
        try:
            return await conn.fetchval("SELECT 1") == 1
        finally:
            await conn.close()

    return port_open(PG_PORT) and asyncio.run(probe())


def pg_is_ours(data: Path) -> bool:
    """Our cluster's postmaster.pid names the process listening on PG_PORT (when /proc says)."""
    try:
        pid = int((data / "postmaster.pid").read_text().split("\n", 1)[0])
        os.kill(pid, 0)
    except PermissionError:
        pass  # alive, run as the postgres user
    except (OSError, ValueError):
        return False
    found = ports.listener(PG_PORT)
    return found is None or found.pid == pid


def pg_up() -> None:
    home, data = pg_dirs()
    if port_open(PG_PORT) and not pg_is_ours(data):
        raise RuntimeError(ports.foreign("PostgreSQL", PG_PORT, data, ports.listener(PG_PORT)))
    home.mkdir(parents=True, exist_ok=True)
    bindir = pg_bindir()
    if os.geteuid() == 0:
        # The postgres user must reach its data directory through our tree.
        for parent in [home, *home.parents]:
            if parent == Path("/"):
                break
            parent.chmod(parent.stat().st_mode | 0o011)
        pg = pwd.getpwnam("postgres")
        os.chown(home, pg.pw_uid, pg.pw_gid)
    if not (data / "PG_VERSION").exists():
        password = secrets.token_urlsafe(18)
        pwfile = home / "password"
        pwfile.write_text(password + "\n")
        pwfile.chmod(0o640)
        if os.geteuid() == 0:
            os.chown(pwfile, 0, pwd.getpwnam("postgres").pw_gid)
        log(f"initialising a PostgreSQL cluster in {data}")
        as_postgres([str(bindir / "initdb"), "-D", str(data), "-U", PG_USER,
                     f"--pwfile={pwfile}", "--auth-local=scram-sha-256",
                     "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8"],
                    stdout=subprocess.DEVNULL)
    if port_open(PG_PORT):
        if pg_serves():
            log(f"PostgreSQL already serving on {HOST}:{PG_PORT}")
            return
        raise RuntimeError(f"port {PG_PORT} is taken by something that is not our PostgreSQL")
    started = time.monotonic()
    options = " ".join([
        f"-p {PG_PORT}", f"-c listen_addresses={HOST}", f"-k {home}",
        "-c max_connections=200", "-c shared_buffers=256MB", "-c max_wal_size=2GB",
        "-c log_min_duration_statement=1000",
    ])
    as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(home / "postgres.log"),
                 "-o", options, "-w", "-t", "60", "start"], stdout=subprocess.DEVNULL)
    ensure_database()
    wait_for("PostgreSQL", pg_serves, timeout=60)
    version = subprocess.run([str(bindir / "postgres"), "--version"], capture_output=True,
                             text=True).stdout.strip()
    log(f"{version} serving on {HOST}:{PG_PORT} after {time.monotonic() - started:.1f}s")


def ensure_database() -> None:
    async def create() -> None:
        import asyncpg

        admin = database_url().rsplit("/", 1)[0] + "/postgres"
        conn = await asyncpg.connect(admin, timeout=10)
        try:
            if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname=$1",
                                       PG_DATABASE):
                await conn.execute(f'CREATE DATABASE "{PG_DATABASE}"')
        finally:
            await conn.close()

    asyncio.run(create())


def pg_down() -> None:
    home, data = pg_dirs()
    if not (data / "postmaster.pid").exists():
        log("PostgreSQL is not running")
        return
    as_postgres([str(pg_bindir() / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
                stdout=subprocess.DEVNULL)
    log("PostgreSQL stopped")


# --------------------------------------------------------------------------- Prometheus


def prometheus_command(config: Path, data: Path, port: int) -> list[str]:
    """Debian's prometheus (scripts/bootstrap installs it) on loopback; tests run their own
    with this command."""
    binary = shutil.which("prometheus")
    if binary is None:
        raise RuntimeError("prometheus not found; run scripts/bootstrap (it installs the"
                           " distribution's prometheus package)")
    return [binary, f"--config.file={config}", f"--storage.tsdb.path={data}",
            f"--web.listen-address={HOST}:{port}", "--storage.tsdb.retention.time=7d",
            "--web.enable-lifecycle"]


def prometheus_serves(port: int = PROMETHEUS_PORT) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://{HOST}:{port}/-/ready", timeout=2) as answer:
            return answer.status == 200
    except OSError:
        return False


def prometheus_up() -> None:
    """Prometheus scraping the services at their local ports, with the alert and recording
    rules of deploy/prometheus/."""
    home = state_dir() / "prometheus"
    home.mkdir(parents=True, exist_ok=True)
    pid_file = home / "prometheus.pid"
    if pid_alive(pid_file) and prometheus_serves():
        log(f"Prometheus already serving on http://{HOST}:{PROMETHEUS_PORT}")
        return
    if port_open(PROMETHEUS_PORT):
        raise RuntimeError(f"port {PROMETHEUS_PORT} is taken by something that is not our"
                           " Prometheus")
    logfile = home / "prometheus.log"
    with logfile.open("ab") as out:
        proc = subprocess.Popen(
            prometheus_command(PROMETHEUS_CONFIG, home / "data", PROMETHEUS_PORT),
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)  # outlives the launcher; `down` stops it
    pid_file.write_text(str(proc.pid))
    wait_for("Prometheus", lambda: _alive(proc, logfile) and prometheus_serves(), timeout=60)
    log(f"Prometheus serving on http://{HOST}:{PROMETHEUS_PORT} (log: {logfile})")


# --------------------------------------------------------------------------- entry points


def up(prometheus: bool = False) -> dict[str, str]:
    """Start both (and Prometheus if asked), if needed, and return the environment that
    points at them."""
    started = time.monotonic()
    pg_up()
    kafka_up()
    if prometheus:
        prometheus_up()
    log(f"infrastructure ready in {time.monotonic() - started:.1f}s")
    return env()


def env() -> dict[str, str]:
    return {"KAFKA_BOOTSTRAP_SERVERS": f"{HOST}:{KAFKA_PORT}", "DATABASE_URL": database_url()}


def down() -> None:
    stop_pid("Prometheus", state_dir() / "prometheus" / "prometheus.pid")
    stop_pid("Kafka", KafkaPaths(state_dir() / "kafka").pid)
    pg_down()


def status() -> int:
    kafka = port_open(KAFKA_PORT) and kafka_serves()
    try:
        pg = pg_serves()
    except Exception:
        pg = False
    print(f"kafka      {HOST}:{KAFKA_PORT}  {'serving' if kafka else 'down'}")
    print(f"postgresql {HOST}:{PG_PORT}  {'serving' if pg else 'down'}")
    print(f"prometheus {HOST}:{PROMETHEUS_PORT}  "
          f"{'serving' if prometheus_serves() else 'down'} (scripts/run starts it)")
    return 0 if kafka and pg else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="launcher", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["up", "down", "status", "env"])
    parser.add_argument("--prometheus", action="store_true",
                        help="up: start Prometheus too (it scrapes the services' local ports)")
    args = parser.parse_args(argv)
    if args.command == "up":
        for name, value in up(prometheus=args.prometheus).items():
            print(f"export {name}='{value}'")
    elif args.command == "env":
        for name, value in env().items():
            print(f"export {name}='{value}'")
    elif args.command == "down":
        down()
    else:
        return status()
    return 0


if __name__ == "__main__":
    sys.exit(main())
