"""The sandbox's delivery receipts: a push the service does not take is tried again a
bounded number of times, then dropped (counted); the drop_receipts fault loses them all."""

import asyncio

import httpx

from tests.unit.notifications.test_providers_on_sandbox import MOBILE, RENDERED, TEMPLATE, aliyun
from tools.sandbox.app import Credentials, create_app


def service_down_for(failures: int, pushes: list) -> httpx.MockTransport:
    """The service's callbacks: 503 for the first `failures` pushes, then taken."""
    def answer(request: httpx.Request) -> httpx.Response:
        pushes.append(request.url.path)
        return httpx.Response(503 if len(pushes) <= failures else 200)
    return httpx.MockTransport(answer)


async def send_one(failures: int, *, retries: int = 3, drop: bool = False):
    app = create_app(Credentials.of(), receipts_to="http://notifications/callbacks",
                     receipt_delay=0.01, receipt_retries=retries, receipt_retry_delay=0.01)
    pushes: list[str] = []
    app.state.reporter.transport = service_down_for(failures, pushes)
    app.state.sandbox.faults.drop_receipts = drop
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://sb") as client:
        assert (await aliyun(client).send_sms(MOBILE, TEMPLATE, RENDERED, "m-1")).kind == "sent"
    for _ in range(100):  # until the reporter is done
        await asyncio.sleep(0.02)
        task = app.state.reporter._task
        if task is None or task.done():
            break
    return pushes, app.state.reporter.dropped


async def test_a_receipt_push_the_service_refused_is_tried_again() -> None:
    pushes, dropped = await send_one(failures=2)
    assert len(pushes) == 3 and dropped == 0
    assert len(set(pushes)) == 1  # the same report each time
    assert pushes[0].startswith("/callbacks/aliyun/sms-report/")


async def test_receipt_retries_are_bounded() -> None:
    pushes, dropped = await send_one(failures=100, retries=3)
    assert len(pushes) == 4 and dropped == 1


async def test_dropped_receipts_are_never_pushed() -> None:
    pushes, dropped = await send_one(failures=0, drop=True)
    assert pushes == [] and dropped == 0
