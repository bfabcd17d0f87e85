"""The year as read: per member, each message the provider sandbox accepted (local time,
channel, template, the text as the provider renders it, or a WeChat template's fields), the
counts, and the checks over all of it (`checks`: what the integration test asserts)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from services.notifications.domain.schedule import Rules, in_quiet_hours

from .cast import SHANGHAI, Sample
from .run import Year

RULES = Rules()


def received(year: Year, sample: Sample) -> list[dict[str, Any]]:
    """What the member received, in order, each with its log row (`row`) and local time."""
    mine = {sample.customer.mobile, sample.customer.wechat_openid} - {None}
    out = []
    for entry in year.sent:
        if entry["to"] in mine:
            row = year.log.get(str(entry.get("message_id")), {})
            # the log's template: a WeChat send names the WeChat template (shared by kinds)
            out.append({**entry, "row": row, "template": row.get("template", entry["template"]),
                        "local": datetime.fromtimestamp(entry["at"], SHANGHAI)})
    return out


def text_of(entry: dict[str, Any]) -> str:
    if entry["channel"] == "sms":
        return entry["text"]
    return " / ".join(f"{k}: {v}" for k, v in entry["fields"].items())


def stop_time(year: Year, sample: Sample) -> datetime | None:
    return next((act.at for member, act, _ in year.acts
                 if member == sample.id and act.kind == "stop"), None)


def checks(year: Year) -> dict[str, list[str]]:
    """Each property over the year, with what breaks it (empty: it holds)."""
    found: dict[str, list[str]] = {
        "no service or marketing message in quiet hours (21:00-08:00)": [],
        "no message sent twice": [],
        "no marketing without consent": [],
        "no marketing after the stop reply": [],
        "every sent message is in the log as sent": [],
    }
    ids = Counter(str(e.get("message_id")) for e in year.sent)
    found["no message sent twice"] += [f"{i} x{n}" for i, n in ids.items() if n > 1]
    causes = Counter((r["cause_id"], r["template"]) for r in year.log.values()
                     if r["state"] == "sent")
    found["no message sent twice"] += [f"{c} x{n}" for c, n in causes.items() if n > 1]
    for sample in year.samples:
        stopped = stop_time(year, sample)
        for entry in received(year, sample):
            row, local = entry["row"], entry["local"]
            what = f"{sample.id} {local:%Y-%m-%d %H:%M} {entry['template']}"
            if row.get("state") != "sent":
                found["every sent message is in the log as sent"].append(what)
            if row.get("category") != "transactional" and in_quiet_hours(local, RULES):
                found["no service or marketing message in quiet hours (21:00-08:00)"].append(
                    what)
            if row.get("category") == "marketing":
                if not sample.customer.marketing_consent:
                    found["no marketing without consent"].append(what)
                if stopped is not None and local >= stopped:
                    found["no marketing after the stop reply"].append(what)
    return found


def render(year: Year, markdown: bool = False) -> str:
    lines: list[str] = []
    h1, h2, item = ("# ", "## ", "- ") if markdown else ("", "", "  ")
    lines.append(f"{h1}A simulated year of messages, {year.start} to {year.end}")
    lines.append("")
    lines.append(f"{len(year.samples)} sample members, {len(year.sent)} messages received, "
                 f"{year.ticks} clock ticks, run in {year.seconds:.0f} s (real services, "
                 "broker and database; times are Asia/Shanghai). The members were onboarded "
                 "and their tiers set the day before the year (not shown). Text as the "
                 "provider sandbox rendered it; a WeChat template message as its fields. A "
                 "points-paid redemption's confirmation is stamped by the database's clock: "
                 "its day is the day of the run, not the year's.")
    for sample in year.samples:
        c = sample.customer
        got = received(year, sample)
        lines += ["", f"{h2}{sample.id}: {sample.why}",
                  f"{c.family_name} ({c.gender}), born {c.birth_date}, {c.preferred_language}, "
                  f"{c.home_city}, member since {c.onboarded_at:%Y-%m-%d}, "
                  f"{'WeChat + SMS' if c.wechat_openid else 'SMS'}; "
                  f"{len(got)} messages", ""]
        for member, act, answer in year.acts:
            if member == sample.id:
                lines.append(f"{item}act {act.at:%Y-%m-%d %H:%M} {act.kind} {act.item}: {answer}")
        if markdown:
            lines += ["", "| local time | channel | template | text |", "|---|---|---|---|"]
        for e in got:
            channel = "WeChat" if e["channel"] == "wechat" else f"SMS ({e['provider']})"
            text = text_of(e)
            lines.append(f"| {e['local']:%Y-%m-%d %H:%M} | {channel} | {e['template']} | "
                         f"{text.replace('|', '/')} |" if markdown else
                         f"  {e['local']:%Y-%m-%d %H:%M}  {channel:<14} {e['template']:<22} "
                         f"{text}")
        skipped = Counter(r["reason"] for r in year.log.values()
                          if r["member_id"] == sample.id and r["state"] in ("skipped", "capped"))
        templates = Counter(e["template"] for e in got)
        consent, via = year.consents.get(sample.id, (None, None))
        lines += ["", f"{item}marketing consent at the end (accounts): {consent}"
                  + (f", withdrawn by {via}" if via else ""),
                  f"{item}received: " + ", ".join(f"{t} {n}" for t, n in sorted(
            templates.items())), f"{item}not sent: " + (", ".join(
                f"{n} {reason}" for reason, n in sorted(skipped.items())) or "none")]
    lines += ["", f"{h2}Checks", ""]
    for name, broken in checks(year).items():
        lines.append(f"- {name}: {'holds' if not broken else 'BROKEN ' + '; '.join(broken)}")
    night = [f"{e['local']:%Y-%m-%d %H:%M} {e['template']}" for s in year.samples
             for e in received(year, s) if in_quiet_hours(e["local"], RULES)]
    lines.append(f"- transactional messages go at once, quiet hours or not: {len(night)} did"
                 + (f" ({'; '.join(night)})" if night else ""))
    return "\n".join(lines) + "\n"
