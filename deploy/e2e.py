"""The end-to-end check of a deployed platform (scripts/deploy-test runs it against Compose and
against `podman kube play`), from outside, as core banking, the app and a partner see it:

    python -m deploy.e2e enrol    --kafka HOST:PORT --member C0000000001
    python -m deploy.e2e purchase --kafka HOST:PORT --member C0000000001 --count 5 --first 0
    python -m deploy.e2e points   --points URL --member C0000000001 --expect 5
    python -m deploy.e2e lounge   --rewards URL --member C0000000001 --partner '{"key_id": …}'

`enrol` publishes the customer's onboarding and an asset snapshot of the past month;
`purchase` card transactions with ids `<member>-<n>` (the same n twice is a duplicate);
`points` waits until the points API shows exactly `expect` earned entries, one per
transaction (none lost, none twice); `lounge` asks the rewards app API for a redemption code
and redeems a lounge visit with it through the signed partner API (tools/partner_client.py)
with a partner key made in the rewards container by `loyalty-ops partners create --json`.
Members' tokens are signed with the checkout's development key pair (runtime/auth.py), whose
public half the deployment trusts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx

from contracts.corebanking.v1 import (
    AssetSnapshotTaken,
    CardTransactionPosted,
    Consents,
    CustomerOnboarded,
    Merchant,
)
from contracts.envelope import encode
from runtime.auth import dev_token
from simulator.publisher import make_producer, publish
from tools.partner_client import PartnerClient

SOURCE = "urn:loyalty:deploy-test"
LOUNGE = "PEK-T3-01"


async def enrol(kafka: str, member: str) -> None:
    now = datetime.now(UTC)
    last_month = (now.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    events = [
        CustomerOnboarded(customer_id=member, family_name="王", given_name="测试", gender="female",
                          birth_date="1980-01-01", mobile="+8613800000000",
                          preferred_language="zh-CN",
                          consents=Consents(service_messages=True, marketing=False),
                          onboarded_at=now),
        AssetSnapshotTaken(customer_id=member, month=last_month,
                           average_daily_assets=Decimal("1000000.00"), currency="CNY",
                           taken_at=now),
    ]
    await _send(kafka, [encode(e, source=SOURCE) for e in events])


async def purchase(kafka: str, member: str, count: int, first: int) -> None:
    now = datetime.now(UTC)
    events = [CardTransactionPosted(
        transaction_id=f"{member}-{n}", customer_id=member, card_token="tok_deploy_0001",
        merchant=Merchant(merchant_id="M1", name="全家便利店", mcc="5411", city="上海",
                          country="CN"),
        transaction_amount=Decimal("1000.00"), transaction_currency="CNY",
        settlement_amount=Decimal("1000.00"), settlement_currency="CNY", posted_at=now)
        for n in range(first, first + count)]
    # A fixed ce_id per transaction: publishing one again is a duplicate to the services.
    await _send(kafka, [encode(e, source=SOURCE, id=str(uuid.uuid5(uuid.NAMESPACE_URL,
                                                                    e.transaction_id)))
                        for e in events])


async def _send(kafka: str, records: list) -> None:
    producer = make_producer(kafka)
    await producer.start()
    try:
        await publish(producer, records)
    finally:
        await producer.stop()


def bearer(member: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {dev_token('app', member)}"}


async def points(url: str, member: str, expect: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=url, timeout=5) as http:
        while True:
            try:
                earned, balance = await _earned(http, member)
            except httpx.TransportError:  # restarting
                earned, balance = [], None
            if len(earned) == expect and len(set(earned)) == expect:
                print(f"points: {member} has {balance} points from {expect} transactions")
                return
            if len(earned) > expect or len(set(earned)) != len(earned):
                raise SystemExit(f"points: {len(earned)} earned entries, expected {expect}")
            if time.monotonic() > deadline:
                raise SystemExit(f"points: {len(earned)} of {expect} transactions credited"
                                 f" after {timeout:.0f}s")
            await asyncio.sleep(0.5)


async def _earned(http: httpx.AsyncClient, member: str) -> tuple[list[str], int | None]:
    headers = bearer(member)
    balance = await http.get(f"/v1/members/{member}/balance", headers=headers)
    if balance.status_code == 404:
        return [], None
    balance.raise_for_status()
    history = await http.get(f"/v1/members/{member}/history", headers=headers,
                             params={"limit": 200})
    history.raise_for_status()
    earned = [e["reference"] for e in history.json()["entries"] if e["kind"] == "earn"]
    return earned, balance.json()["balance"]


async def lounge(url: str, member: str, partner_key: dict, timeout: float) -> None:
    """A code from the app API, then the visit through the signed partner API. The member
    may use a visit of the tier's allowance or pay in points (allow_points): either
    proves the services' events reached rewards."""
    deadline = time.monotonic() + timeout
    headers = bearer(member)
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        partner = PartnerClient(http, partner_key["key_id"], partner_key["secret"])
        while True:
            issued = await http.post(f"/v1/app/members/{member}/redemption-codes",
                                     headers=headers)
            issued.raise_for_status()
            answer = await partner.redeem_lounge(issued.json()["code"], LOUNGE,
                                                 allow_points=True)
            if answer.status_code == 201:
                body = answer.json()
                print(f"lounge: redemption {body.get('id')} {body.get('status')}")
                return
            if time.monotonic() > deadline:
                raise SystemExit(f"lounge: {answer.status_code} {answer.text}")
            await asyncio.sleep(1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.e2e",
                                     description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("enrol", "purchase", "points", "lounge"):
        command = sub.add_parser(name)
        command.add_argument("--member", required=True)
        command.add_argument("--timeout", type=float, default=90)
    for name in ("enrol", "purchase"):
        sub.choices[name].add_argument("--kafka", required=True)
    sub.choices["purchase"].add_argument("--count", type=int, default=5)
    sub.choices["purchase"].add_argument("--first", type=int, default=0)
    sub.choices["points"].add_argument("--points", required=True)
    sub.choices["points"].add_argument("--expect", type=int, required=True)
    sub.choices["lounge"].add_argument("--rewards", required=True)
    sub.choices["lounge"].add_argument(
        "--partner", required=True, type=json.loads,
        help="the key as `loyalty-ops partners create --json` prints it")
    args = parser.parse_args(argv)
    if args.command == "enrol":
        asyncio.run(enrol(args.kafka, args.member))
    elif args.command == "purchase":
        asyncio.run(purchase(args.kafka, args.member, args.count, args.first))
    elif args.command == "points":
        asyncio.run(points(args.points, args.member, args.expect, args.timeout))
    else:
        asyncio.run(lounge(args.rewards, args.member, args.partner, args.timeout))
    return 0


if __name__ == "__main__":
    sys.exit(main())
