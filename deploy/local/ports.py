"""Who listens on a local TCP port: the process found through /proc (the listening socket's
inode, then the process holding it), so the launcher can tell its own Kafka and PostgreSQL
from another checkout's and say whose they are, with the fix."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
LISTEN = "0A"


@dataclass(frozen=True)
class Listener:
    pid: int
    command: str
    #: PostgreSQL runs in its data directory; Kafka names its settings file.
    cwd: str


def listener(port: int) -> Listener | None:
    """The process listening on `port`, or None when there is none or /proc does not say
    (another user's process, when we are not root)."""
    inodes = set()
    for table in ("net/tcp", "net/tcp6"):
        try:
            rows = (PROC / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if fields[3] == LISTEN and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(f"socket:[{fields[9]}]")
    for process in PROC.iterdir():
        if not process.name.isdigit():
            continue
        try:
            if any(str(fd.readlink()) in inodes for fd in (process / "fd").iterdir()):
                command = (process / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                return Listener(int(process.name), command.strip(), _cwd(process))
        except OSError:
            continue
    return None


def _cwd(process: Path) -> str:
    try:
        return str((process / "cwd").readlink())
    except OSError:
        return "?"


def foreign(what: str, port: int, ours: Path, found: Listener | None) -> str:
    """The message for a port held by something that is not this checkout's `what`."""
    if found is None:
        holder = "a process this user cannot see"
    else:
        holder = f"pid {found.pid} ({found.command[:160]}; working directory {found.cwd})"
    return (f"port {port} is taken by {holder}, which is not this checkout's {what} "
            f"(state in {ours}). Stop it (if it is another checkout's: `scripts/infra down` "
            f"there), or give this checkout other ports: LOYALTY_PG_PORT=... and "
            f"LOYALTY_KAFKA_PORT=... (Kafka's controller takes the next port), which "
            f"scripts/run, scripts/test, scripts/infra and the launcher all honour.")
