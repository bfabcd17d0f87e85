"""Machine CPU by process kind, read from /proc, for the benchmarks: where the time goes.

    probe = await CpuProbe.find(database_url, bootstrap)      # once, before measuring
    before = probe.sample(services=[pid, ...])
    ...
    split = probe.sample(services=[pid, ...]) - before       # ticks by kind
    print(split.per_event(events))

How each kind is counted (clock ticks, `utime + stime` of /proc/<pid>/stat, all threads):
- service: the benchmark's service processes, by pid (alive for the whole window).
- postgres: the postmaster of the benchmark's database (the parent of the benchmark's own
  backend, `pg_backend_pid()`), its live children (backends, autovacuum, WAL writer...),
  and its `cutime + cstime`: the CPU of the children it has reaped. Backends come and go;
  one that ends inside the window moves from "live" to "reaped" with all its CPU, one that
  starts and ends inside it appears in "reaped" only, so the difference of two samples
  counts each backend's CPU in the window exactly once. Another PostgreSQL on the machine
  is not counted (it has another postmaster).
- broker: the process listening on the bootstrap port (the socket's inode in
  /proc/net/tcp{,6}, found among /proc/<pid>/fd): the Kafka JVM.
- benchmark: this process (`utime + stime` of /proc/self/stat; its children's CPU is not
  in it).
- interrupts: the machine's irq and softirq time from /proc/stat, which no process is
  charged for; on one machine it is mostly the loopback network between the parts.
- other: the rest of the machine's busy time (every /proc/stat field but idle and iowait):
  other work on the machine (shared machines) and processes not named above. /proc/stat
  samples time tick by tick while a process's times come from the scheduler's exact
  runtime, so the two differ by a tick or two: "other" can be slightly negative.
A sample at the start of a window and one at its end give the CPU of the window; divided by
the events it processed, the machine CPU per event by kind.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import asyncpg

TICK_US = 1e6 / os.sysconf("SC_CLK_TCK")
KINDS = ("service", "postgres", "broker", "benchmark", "interrupts", "other")


def _stat(pid: int | str) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (field 3 on), or None if the
    process is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return text[text.rindex(")") + 2:].split()


def _ticks(fields: list[str], children: bool = False) -> int:
    # fields[11], [12]: utime, stime (stat fields 14, 15); [13], [14]: cutime, cstime.
    own = int(fields[11]) + int(fields[12])
    return own + int(fields[13]) + int(fields[14]) if children else own


def _machine() -> tuple[int, int]:
    """(busy, interrupts) ticks of the whole machine since boot."""
    with open("/proc/stat") as f:
        user, nice, system, _idle, _iowait, irq, softirq, steal = map(
            int, f.readline().split()[1:9])  # guest time is already in user
    return user + nice + system + irq + softirq + steal, irq + softirq


@dataclass
class Split:
    """CPU ticks by kind over a window (a difference of two samples)."""
    ticks: dict[str, int] = field(default_factory=dict)

    def __sub__(self, other: Split) -> Split:
        return Split({k: self.ticks[k] - other.ticks.get(k, 0) for k in self.ticks})

    def per_event(self, events: int) -> dict[str, float]:
        """Microseconds of machine CPU per event, by kind and in total ("machine")."""
        us = {k: self.ticks.get(k, 0) * TICK_US / max(events, 1) for k in KINDS}
        us["machine"] = self.ticks["machine"] * TICK_US / max(events, 1)
        return us

    def busy_share(self, seconds: float) -> float:
        """How busy the whole machine was over a window of `seconds`, 0 to 1."""
        return self.ticks["machine"] * TICK_US / 1e6 / max(seconds * os.cpu_count(), 1e-9)

    @staticmethod
    def describe(us: dict[str, float]) -> str:
        parts = ", ".join(f"{k} {us[k]:.0f}" for k in KINDS)
        return f"{us['machine']:.0f} µs machine CPU per event ({parts})"


@dataclass(frozen=True)
class CpuProbe:
    postmaster: int
    broker: int | None

    @classmethod
    async def find(cls, database_url: str, bootstrap: str) -> CpuProbe:
        conn = await asyncpg.connect(database_url)
        try:
            fields = _stat(await conn.fetchval("SELECT pg_backend_pid()"))
        finally:
            await conn.close()
        if fields is None:
            raise RuntimeError("the database is not on this machine: no CPU split")
        return cls(postmaster=int(fields[1]), broker=_listener(int(bootstrap.rsplit(":", 1)[1])))

    def sample(self, services: list[int] = ()) -> Split:
        busy, interrupts = _machine()
        ticks = dict.fromkeys(KINDS, 0)
        for pid in services:
            if fields := _stat(pid):
                ticks["service"] += _ticks(fields)
        if fields := _stat(self.postmaster):
            ticks["postgres"] += _ticks(fields, children=True)
        for pid in filter(str.isdigit, os.listdir("/proc")):
            fields = _stat(pid)
            if fields and int(fields[1]) == self.postmaster:
                ticks["postgres"] += _ticks(fields)
        if self.broker and (fields := _stat(self.broker)):
            ticks["broker"] = _ticks(fields)
        ticks["benchmark"] = _ticks(_stat("self"))
        ticks["interrupts"] = interrupts
        ticks["other"] = busy - sum(ticks.values())
        ticks["machine"] = busy
        return Split(ticks)


def _listener(port: int) -> int | None:
    """The pid of the process listening on TCP `port` on this machine, if any."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                rows = [line.split() for line in f.readlines()[1:]]
        except FileNotFoundError:
            continue
        inodes |= {row[9] for row in rows
                   if int(row[1].rsplit(":", 1)[1], 16) == port and row[3] == "0A"}
    sockets = {f"socket:[{inode}]" for inode in inodes}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                if os.readlink(f"/proc/{pid}/fd/{fd}") in sockets:
                    return int(pid)
        except (FileNotFoundError, PermissionError, ProcessLookupError):
            continue
    return None
