"""Every service's HTTP errors and its guard at the edge, installed in one place (`install`,
called by runtime/service.py for every service).

- Every error answers `{code, message}` (`ErrorBody`): an HTTPException (its detail a
  message, or a `{code, message}` dict), invalid parameters (422 `invalid_request`, naming
  where, never echoing the input), an unknown route or method, a dependency unavailable
  (503 `unavailable`, Retry-After: a database restart, say), and anything unexpected
  (500 `internal`, logged). The OpenAPI document declares it on every operation (4XX, 5XX)
  instead of FastAPI's `{"detail": ...}` validation error.
- `EdgeGuard`, before any route: header values of printable ASCII only, at most
  `max_header_bytes` of headers (431); no control characters (NUL...) in the query, bounded
  path and query lengths (414); a body of at most `max_body_bytes` (413, refused from its
  Content-Length before reading, or while streaming) without a JSON-escaped NUL (400).
  The path is left to the routes, which authenticate first (a NUL in a secret URL is a
  wrong secret, 401) and declare a pattern or bounds for each path parameter.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .retry import is_transient

log = logging.getLogger(__name__)

CODES = {400: "bad_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found",
         405: "method_not_allowed", 409: "conflict", 413: "too_large", 414: "uri_too_long",
         415: "unsupported_media_type", 422: "invalid_request", 429: "rate_limited",
         431: "headers_too_large", 500: "internal", 503: "unavailable"}
MAX_PATH = 2048
MAX_QUERY = 8192
MAX_HEADERS = 100


class ErrorBody(BaseModel):
    code: str = Field(description="Stable: program against it, not against the message.")
    message: str


def error_response(status: int, message: str, code: str | None = None,
                   headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"code": code or CODES.get(status, "error"), "message": message},
                        status_code=status, headers=headers)


class BodyTooLarge(StarletteHTTPException):
    """Raised from `receive` past the bound: FastAPI re-raises HTTPExceptions met while
    reading a body, so it reaches the handler (or EdgeGuard, for raw ASGI routes)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"bodies are at most {limit} bytes")


def install(app: FastAPI, *, max_body_bytes: int, max_header_bytes: int) -> None:
    """The `{code, message}` handlers, the OpenAPI declaration and the EdgeGuard. A service
    may add its own handler for a class afterwards (rewards' partner refusals)."""
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(Exception, _unexpected)
    build = app.build_middleware_stack

    def build_with_guard() -> ASGIApp:
        # The guard goes outside every middleware a service adds, whenever it added it.
        guard = Middleware(EdgeGuard, max_body_bytes=max_body_bytes,
                           max_header_bytes=max_header_bytes)
        app.user_middleware.insert(0, guard)
        try:
            return build()
        finally:
            app.user_middleware.remove(guard)

    app.build_middleware_stack = build_with_guard  # type: ignore[method-assign]
    document = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            declare_errors(document())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


async def _http_error(_request: Request, exc: StarletteHTTPException) -> Response:
    detail = exc.detail
    if isinstance(detail, Mapping) and {"code", "message"} <= set(detail):
        return error_response(exc.status_code, str(detail["message"]), str(detail["code"]),
                              exc.headers)
    return error_response(exc.status_code, str(detail), headers=exc.headers)


async def _invalid(_request: Request, exc: RequestValidationError) -> Response:
    return error_response(422, validation_message(exc))


def validation_message(exc: RequestValidationError) -> str:
    """Where and what, from pydantic's errors: never the input itself."""
    parts = [f"{'.'.join(map(str, e.get('loc', ())))}: {e.get('msg', 'invalid')}"
             for e in exc.errors()[:5]]
    return "; ".join(parts)[:500] or "invalid request"


async def _unexpected(request: Request, exc: Exception) -> Response:
    if is_transient(exc):  # the database restarting, say: the caller may try again soon
        log.warning("%s %s: a dependency is unavailable (%s)", request.method,
                    request.url.path, type(exc).__name__)
        return error_response(503, "temporarily unavailable, try again",
                              headers={"Retry-After": "1"})
    log.error("unexpected error answering %s %s", request.method, request.url.path,
              exc_info=exc)
    return error_response(500, "internal error")


# ---------------------------------------------------------------------- the edge

_ESCAPED_CONTROL = re.compile(rb"%(?:[01][0-9a-fA-F]|7[fF])")
_ESCAPED_NUL = re.compile(rb"\\u0000", re.IGNORECASE)
_VISIBLE = re.compile(rb"[\x20-\x7e\t]*")


class EdgeGuard:
    """Refuses what no route should see (see the module's docstring)."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, max_header_bytes: int) -> None:
        self.app = app
        self.max_body = max_body_bytes
        self.max_headers = max_header_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = self.refusal(scope)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, self.bounded(receive), sending)
        except StarletteHTTPException as exc:  # from a route served outside the handlers
            if started:
                raise
            await error_response(exc.status_code, str(exc.detail))(scope, receive, send)

    def refusal(self, scope: Scope) -> Response | None:
        headers = scope["headers"]
        if len(headers) > MAX_HEADERS or sum(
                len(n) + len(v) for n, v in headers) > self.max_headers:
            return error_response(431, f"at most {MAX_HEADERS} headers and"
                                       f" {self.max_headers} bytes of them")
        for name, value in headers:
            if not _VISIBLE.fullmatch(value):
                return error_response(400, f"header {name.decode('latin-1')[:40]!r}: printable"
                                           " ASCII only")
        path, query = scope["path"], scope.get("query_string", b"")
        if len(path) > MAX_PATH or len(query) > MAX_QUERY:
            return error_response(414, f"paths are at most {MAX_PATH} characters and queries"
                                       f" {MAX_QUERY} bytes")
        if _ESCAPED_CONTROL.search(query) or not _VISIBLE.fullmatch(query):
            return error_response(400, "no control characters in the query")
        declared = dict(headers).get(b"content-length")
        if declared is not None:
            if not declared.isdigit() or len(declared) > 12:
                return error_response(400, "Content-Length must be a number")
            if int(declared) > self.max_body:
                return error_response(413, f"bodies are at most {self.max_body} bytes")
        return None

    def bounded(self, receive: Receive) -> Receive:
        size, tail = 0, b""

        async def receiving() -> Message:
            nonlocal size, tail
            message = await receive()
            if message["type"] == "http.request":
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > self.max_body:
                    raise BodyTooLarge(self.max_body)
                # A JSON-escaped NUL would reach the database as text it refuses.
                if _ESCAPED_NUL.search(tail + chunk):
                    raise StarletteHTTPException(400, "no NUL characters in the body")
                tail = chunk[-5:]
            return message
        return receiving


def declare_errors(document: dict[str, Any]) -> None:
    """Every operation answers its errors as ErrorBody: FastAPI's validation error schema
    is replaced, and 4XX and 5XX are declared where nothing more precise is."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas["ErrorBody"] = ErrorBody.model_json_schema()
    ref = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for status, response in responses.items():
                content = str(response.get("content", ""))
                if status.startswith(("4", "5")) and "HTTPValidationError" in content:
                    response["content"] = ref
                    response["description"] = "Invalid request"
                elif status.startswith(("4", "5")) and "ErrorBody" in content:
                    # Errors are JSON, whatever the route's own answers are (e.g. text).
                    response["content"] = ref
            responses.setdefault("4XX", {"description": "Refused", "content": ref})
            responses.setdefault("5XX", {"description": "Failed", "content": ref})
