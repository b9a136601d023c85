"""The web view's HTTP server: GET only, read-only, loopback unless a token guards it.

Routes: `/` (the HTML report, following the reports as they change), `/api/status`,
`/api/trades?symbol=&since=&open=`, `/api/signals?symbol=&reason=&limit=`, `/api/research`,
`/api/version` (what the page polls). A token, when set, is presented as `Authorization:
Bearer <token>`, or once as `/?token=<token>`, which answers with an HttpOnly cookie and a
redirect to a URL without it. Requests are logged without their query string or headers.
"""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Callable
from http import HTTPStatus
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import structlog

from engine_alpha.core.formatting import parse_utc_time
from engine_alpha.web.auth import token_matches
from engine_alpha.web.views import MAX_SIGNALS, ReportsView, as_json

__all__ = ["LIVE_SCRIPT", "WebServer", "make_server"]

COOKIE = "chloe_token"
POLL_MS = 2000
# Follows the reports: polls /api/version and, when it changed, swaps in the new page's body.
LIVE_SCRIPT = (
    "<script>(function(){let v=document.documentElement.dataset.version;"
    "async function poll(){try{const r=await fetch('/api/version',{cache:'no-store'});"
    "if(r.ok){const n=(await r.json()).version;if(n!==v){const p=await fetch('/',"
    "{cache:'no-store'});if(p.ok){const d=new DOMParser().parseFromString(await p.text(),"
    "'text/html');document.body.replaceWith(d.body);document.title=d.title;"
    "v=d.documentElement.dataset.version;}}}}catch(e){}setTimeout(poll,"
    f"{POLL_MS});}}setTimeout(poll,{POLL_MS});}})();</script>"
)
_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; script-src 'unsafe-inline'; "
    "style-src 'unsafe-inline'; img-src data:; connect-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'",
}


class BadRequestError(Exception):
    """A query parameter the API cannot use; the message names it."""


def _one(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    if not values or not values[-1].strip():
        return None
    return values[-1].strip()


def _symbol(query: dict[str, list[str]], known: set[str]) -> str | None:
    symbol = _one(query, "symbol")
    if symbol is None:
        return None
    symbol = symbol.upper()
    if symbol not in known:
        raise BadRequestError(f"symbol: unknown {symbol!r} (known: {', '.join(sorted(known))})")
    return symbol


class WebServer(ThreadingHTTPServer):
    """The HTTP server with the view and the token its handlers use."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], view: ReportsView, token: str | None) -> None:
        self.view = view
        self.token = token
        self.log = structlog.get_logger("chloe.web")
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: WebServer
    server_version = "chloe-web"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: requests are logged by `_send` without query string or headers."""

    def do_GET(self) -> None:
        started = time.monotonic()
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        try:
            status, body, kind, extra = self._route(url.path, query)
        except BadRequestError as exc:
            status, body, kind, extra = HTTPStatus.BAD_REQUEST, _error(str(exc)), "json", {}
        except Exception as exc:  # noqa: BLE001 - one request fails, the server serves on
            self.server.log.error("web_request_failed", path=url.path, error=repr(exc))
            status, body, kind = HTTPStatus.INTERNAL_SERVER_ERROR, _error("internal error"), "json"
            extra = {}
        self._send(status, body, kind, extra)
        self.server.log.info(
            "web_request",
            method="GET",
            path=url.path,
            status=int(status),
            ms=round((time.monotonic() - started) * 1000, 1),
        )

    def do_HEAD(self) -> None:
        self._send(HTTPStatus.METHOD_NOT_ALLOWED, _error("GET only"), "json", {"Allow": "GET"})

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD  # noqa: N815 - the stdlib's names

    def _presented(self, query: dict[str, list[str]]) -> tuple[str | None, bool]:
        """The token the request presents, and whether it came in the URL."""
        header = self.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            return header.removeprefix("Bearer ").strip(), False
        if "token" in query:
            return query["token"][-1], True
        cookie = SimpleCookie(self.headers.get("Cookie", ""))
        if COOKIE in cookie:
            return cookie[COOKIE].value, False
        return None, False

    def _route(
        self, path: str, query: dict[str, list[str]]
    ) -> tuple[HTTPStatus, bytes, str, dict[str, str]]:
        token, in_url = self._presented(query)
        if not token_matches(self.server.token, token):
            return HTTPStatus.UNAUTHORIZED, _error("a valid token is required"), "json", {}
        if in_url:  # set the cookie, and take the token out of the address bar and history
            cookie = f"{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/"
            return HTTPStatus.SEE_OTHER, b"", "json", {"Location": path, "Set-Cookie": cookie}
        view = self.server.view
        routes: dict[str, Callable[[], tuple[bytes, str]]] = {
            "/": lambda: (self._page(), "html"),
            "/api/version": lambda: (as_json({"version": view.version()}), "json"),
            "/api/status": lambda: (as_json(view.current().status), "json"),
            "/api/trades": lambda: (as_json(self._trades(query)), "json"),
            "/api/signals": lambda: (as_json(self._signals(query)), "json"),
            "/api/research": lambda: (as_json(view.research()), "json"),
        }
        handler = routes.get(path)
        if handler is None:
            return HTTPStatus.NOT_FOUND, _error(f"no such page: {path}"), "json", {}
        body, kind = handler()
        return HTTPStatus.OK, body, kind, {}

    def _page(self) -> bytes:
        rendered = self.server.view.current()
        html = rendered.html.replace(
            '<html lang="en">', f'<html lang="en" data-version="{rendered.version}">', 1
        )
        return html.replace("</body>", LIVE_SCRIPT + "</body>", 1).encode()

    def _known(self) -> set[str]:
        return set(self.server.view.current().data.config.profiler.assets)

    def _trades(self, query: dict[str, list[str]]) -> dict[str, Any]:
        since_text = _one(query, "since")
        try:
            since = None if since_text is None else parse_utc_time(since_text)
        except ValueError as exc:
            raise BadRequestError(f"since: {exc}") from None
        open_only = (_one(query, "open") or "false").lower() in ("1", "true", "yes")
        return self.server.view.trades(_symbol(query, self._known()), since, open_only)

    def _signals(self, query: dict[str, list[str]]) -> dict[str, Any]:
        limit_text = _one(query, "limit") or str(MAX_SIGNALS)
        if not limit_text.isdigit() or int(limit_text) > MAX_SIGNALS:
            raise BadRequestError(f"limit: a whole number from 0 to {MAX_SIGNALS}")
        reason = _one(query, "reason")
        return self.server.view.signals(_symbol(query, self._known()), reason, int(limit_text))

    def _send(self, status: HTTPStatus, body: bytes, kind: str, extra: dict[str, str]) -> None:
        self.send_response(status)
        content = "text/html; charset=utf-8" if kind == "html" else "application/json"
        self.send_header("Content-Type", content)
        self.send_header("Content-Length", str(len(body)))
        for name, value in {**_HEADERS, **extra}.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


def _error(text: str) -> bytes:
    return as_json({"error": text})


def make_server(host: str, port: int, view: ReportsView, token: str | None) -> WebServer:
    """Bind (OSError when the address is taken); `serve_forever` serves."""
    return WebServer((host, port), view, token)
