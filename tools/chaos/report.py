"""The figures of a fault-suite run, as printed: faults, restarts, events, recovery times and
every difference (all of them also in `differences.txt` beside the logs)."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict

from .run import Report, WorldRun
from .world import SERVICES

SHOWN_PER_KIND = 25


def render(report: Report) -> str:
    c, n, chaos = report.config, report.counts, report.chaos
    kills = Counter(r.fault.target for r in chaos.recoveries if r.fault.kind == "kill")
    infra = Counter(r.fault.kind for r in chaos.recoveries if r.fault.kind != "kill")
    doing = Counter(r.doing for r in chaos.recoveries if r.fault.kind == "kill")
    lines = [
        f"fault suite, seed {c.seed}: {n['purchases']:,} card purchases ({n['card_records']:,}"
        f" card records: {n['refunds']:,} refunds, {n['early_refunds']:,} before their purchase,"
        f" {n['duplicates']:,} duplicate deliveries), {n['customers']:,} customers,"
        f" {n['snapshots']:,} asset snapshots, {n['profile_changes']:,} profile changes,"
        f" {n['closures']:,} closures; {c.redemption_members:,} members redeeming",
        f"clean run {report.clean.seconds:.0f}s, chaos run {chaos.seconds:.0f}s"
        f" (logs: {report.log_dir})",
        "",
        "kills (kill -9, restarted): " + ", ".join(f"{s} {kills[s]}" for s in SERVICES)
        + f" (total {sum(kills.values())}; struck while "
        + ", ".join(f"{what} {n}" for what, n in sorted(doing.items())) + ")",
        f"restarts: {sum(kills.values())} services by the suite, "
        f"{sum(chaos.exits.values())} on their own"
        + "".join(f" ({s} {k})" for s, k in chaos.exits.items() if k)
        + f"; PostgreSQL {infra['database']} (immediate stop), Kafka {infra['broker']} (kill -9)",
        "",
        f"{'events applied (inbox)':<32}{'clean':>10}{'chaos':>10}",
        *(f"  {s:<30}{report.clean.processed.get(s, 0):>10,}{chaos.processed.get(s, 0):>10,}"
          for s in SERVICES),
        f"{'published (events / records)':<32}{'clean':>21}{'chaos':>21}",
        *_published(report.clean, chaos),
        f"  {'sent to providers (messages)':<30}{report.clean.provider_sends:>21,}"
        f"{chaos.provider_sends:>21,}",
        f"  {'sends a kill interrupted':<30}{report.clean.interrupted_sends:>21,}"
        f"{chaos.interrupted_sends:>21,} (the SMS provider asked, sent again if it had not"
        f" got it; {chaos.interrupted_reached:,} reached it)",
        f"redemption answers by status: clean {_answers(report.clean)}, chaos {_answers(chaos)};"
        f" requests sent again after a fault: {chaos.outcomes.retries if chaos.outcomes else 0}",
        "",
        "recovery after each fault (down: until restarted; then until ready and until moving"
        " again):",
        f"  {'#':>3} {'at':>6}  {'fault':<24}{'struck':>10}{'down':>7}{'ready':>8}{'moving':>8}"
        "  lag at fault",
        *(f"  {i:>3} {r.at:>5.0f}s  {r.fault.kind + ' ' + r.fault.target:<24}{r.doing:>10}"
          f"{r.down_s:>6.1f}s{_s(r.ready_s):>8}{_s(r.moving_s):>8}  "
          + ", ".join(f"{s} {lag:,}" for s, lag in r.lag_at_fault.items() if lag)
          for i, r in enumerate(chaos.recoveries, 1)),
        *_by_kind(chaos),
        "",
        f"differences: {len(report.differences)}",
    ]
    by_kind: dict[str, list] = defaultdict(list)
    for d in report.differences:
        by_kind[d.kind].append(d)
    for kind, found in by_kind.items():
        lines.append(f"  {kind}: {len(found)}")
        lines += [f"    {d.what}" for d in found[:SHOWN_PER_KIND]]
        if len(found) > SHOWN_PER_KIND:
            lines.append(f"    ... {len(found) - SHOWN_PER_KIND} more in differences.txt")
    return "\n".join(lines)


def _published(clean: WorldRun, chaos: WorldRun) -> list[str]:
    a = clean.published.events if clean.published else {}
    b = chaos.published.events if chaos.published else {}
    ra = clean.published.records if clean.published else {}
    rb = chaos.published.records if chaos.published else {}
    return [f"  {t:<30}{f'{a.get(t, 0):,} / {ra.get(t, 0):,}':>21}"
            f"{f'{b.get(t, 0):,} / {rb.get(t, 0):,}':>21}"
            for t in sorted(set(a) | set(b)) if ra.get(t) or rb.get(t)]


def _answers(run: WorldRun) -> str:
    if not run.outcomes:
        return "-"
    counted = Counter(run.outcomes.answers.values())
    return " ".join(f"{status}:{n}" for status, n in sorted(counted.items()))


def _s(seconds: float | None) -> str:
    return "never" if seconds is None else f"{seconds:.1f}s"


def _by_kind(run: WorldRun) -> list[str]:
    kinds: dict[str, list[float]] = defaultdict(list)
    for r in run.recoveries:
        if r.moving_s is not None:
            kinds[r.fault.kind + " " + r.fault.target].append(r.moving_s)
    return ["  moving again after a restart, median / max:"] + [
        f"    {kind:<24}{statistics.median(times):>6.1f}s /{max(times):>6.1f}s ({len(times)})"
        for kind, times in sorted(kinds.items())] if kinds else []
