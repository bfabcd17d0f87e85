"""Every HTTP request's latency and status in `loyalty_http_request_seconds`, labelled by
route template (bounded): the matched route's path, else the request's path when it is a
parameterless route of the app (entries served before routing, e.g. signed partner
commands), else "other"."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .metrics import HTTP_SECONDS


async def served(app: ASGIApp, scope: Scope, receive: Receive, send: Send,
                 status: list[int]) -> None:
    """Serve the request with `app`, appending the answer's status to `status` (500 if the
    app fails before answering: the server answers so)."""
    status.append(500)

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            status[0] = message["status"]
        await send(message)

    await app(scope, receive, sending)


class HttpMetrics:
    def __init__(self, app: ASGIApp, *, routes: Callable[[], Iterable[object]]) -> None:
        self._app = app
        self._routes = routes
        self._static: frozenset[str] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started = time.perf_counter()
        status: list[int] = []
        try:
            await served(self._app, scope, receive, send, status)
        finally:
            HTTP_SECONDS.labels(self._route(scope), scope["method"], str(status[0])).observe(
                time.perf_counter() - started)

    def _route(self, scope: Scope) -> str:
        route = scope.get("route")
        if route is not None and hasattr(route, "path"):
            return route.path
        if self._static is None:
            self._static = frozenset(getattr(r, "path", "") for r in self._routes()
                                     if "{" not in getattr(r, "path", "{"))
        return scope["path"] if scope["path"] in self._static else "other"
