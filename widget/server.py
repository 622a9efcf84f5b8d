"""The public web server: the single origin residents' browsers talk to.

It serves the widget (``/widget/madoguchi.js`` and its assets), the widget's settings
(``/widget/settings.json``), attachments of published QA entries, a demo city homepage (``/``) and a
full-page chat (``/chat``), and proxies chat messages to Rasa's REST webhook (``POST /api/chat``).
Rasa and the action server stay internal.

Every response carries security headers; request bodies are size-limited; ``/api/chat`` is
rate-limited per client; cross-origin calls are allowed only from ``web.cors_origins``.

Run it with ``python -m widget.server`` (``--port``, ``--host``) or through ``make run``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections import deque
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qa_data.settings import Settings, get_settings

log = logging.getLogger("madoguchi.web")

STATIC_DIR = Path(__file__).resolve().parent / "static"
LANGS = ("ja", "en", "zh-Hans", "ko", "vi")

# Messages residents see (the widget shows them in Japanese, or its own translation by `error`).
MESSAGES = {
    "rate_limited": (
        "ただいまご質問が集中しております。恐れ入りますが、1分ほどお待ちいただいてから、"
        "もう一度お試しください。"
    ),
    "too_large": "メッセージが長すぎます。恐れ入りますが、短くしてもう一度お送りください。",
    "bad_request": "メッセージを受け付けられませんでした。お手数ですが、もう一度お試しください。",
    "unavailable": (
        "申し訳ありません。ただいまシステムに接続できません。"
        "しばらく時間をおいてから、もう一度お試しください。"
    ),
    "timeout": (
        "申し訳ありません。応答に時間がかかっています。"
        "しばらく時間をおいてから、もう一度お試しください。"
    ),
    "bad_gateway": (
        "申し訳ありません。ただいま回答を用意できませんでした。"
        "しばらく時間をおいてから、もう一度お試しください。"
    ),
    "not_found": "お探しのページまたはファイルは見つかりませんでした。",
}

# The pages served here need no inline script and no inline style.
PAGE_CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: https:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'self'",
    ]
)
# Attachments are staff uploads: never let one run script in our origin (an SVG or HTML file).
ATTACHMENT_CSP = "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; sandbox"
INLINE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf"}

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
]

SENDER_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
COLOR_RE = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")


def _error(code: str, status: int, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        {"error": code, "message": MESSAGES[code]}, status_code=status, headers=headers
    )


# --------------------------------------------------------------------------------------------
# Middleware (pure ASGI, so that streaming bodies are counted as they arrive)


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                for name, value in SECURITY_HEADERS:
                    if name not in present:
                        headers.append((name, value))
                if b"content-security-policy" not in present:
                    csp = ATTACHMENT_CSP if path.startswith("/attachments/") else PAGE_CSP
                    headers.append((b"content-security-policy", csp.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class _BodyTooLarge(Exception):
    pass


class BodySizeLimitMiddleware:
    """413 for a request body above ``max_bytes``, whether or not it declares its length."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self.max_bytes:
                    await _error("too_large", 413)(scope, receive, send)
                    return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _BodyTooLarge:
            if not started:
                await _error("too_large", 413)(scope, receive, send)


class RateLimiter:
    """A sliding one-minute window per client address."""

    def __init__(self, per_minute: int, window: float = 60.0) -> None:
        self.per_minute = per_minute
        self.window = window
        self._hits: dict[str, deque[float]] = {}
        self._last_sweep = time.monotonic()

    def check(self, client: str) -> float | None:
        """None if allowed (and counted); otherwise the seconds until the next slot frees."""
        now = time.monotonic()
        if now - self._last_sweep > self.window:
            self._sweep(now)
        hits = self._hits.setdefault(client, deque())
        while hits and now - hits[0] >= self.window:
            hits.popleft()
        if len(hits) >= self.per_minute:
            return max(1.0, self.window - (now - hits[0]))
        hits.append(now)
        return None

    def _sweep(self, now: float) -> None:
        self._last_sweep = now
        for key in [k for k, v in self._hits.items() if not v or now - v[-1] >= self.window]:
            del self._hits[key]


def client_address(request: Request, trust_proxy: bool) -> str:
    if trust_proxy:
        forwarded = request.headers.get("x-forwarded-for")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return request.client.host if request.client else "unknown"


# --------------------------------------------------------------------------------------------
# Widget settings


def _clean_text(value: Any, default: str, limit: int) -> str:
    if not isinstance(value, str):
        return default
    value = value.strip()
    return value[:limit] if value else default


def _clean_url(value: Any, default: str) -> str:
    if not isinstance(value, str) or not value.strip():
        return default
    value = value.strip()
    if value.startswith(("https://", "http://")) or (
        value.startswith("/") and not value.startswith("//")
    ):
        return value[:500]
    return default


def widget_settings(settings: Settings, stored: dict[str, Any] | None) -> dict[str, Any]:
    """Config defaults overlaid with the console's row, every field checked."""
    base = settings.web.widget.model_dump()
    stored = stored if isinstance(stored, dict) else {}
    colors = dict(base["colors"])
    stored_colors = stored.get("colors")
    if isinstance(stored_colors, dict):
        for key in colors:
            value = stored_colors.get(key)
            if isinstance(value, str) and COLOR_RE.match(value.strip()):
                colors[key] = value.strip()
    for key, value in list(colors.items()):
        if not COLOR_RE.match(value):
            colors[key] = getattr(type(settings.web.widget.colors)(), key)
    questions = stored.get("suggested_questions", base["suggested_questions"])
    if not isinstance(questions, list):
        questions = base["suggested_questions"]
    questions = [q.strip()[:100] for q in questions if isinstance(q, str) and q.strip()][:8]
    position = stored.get("position", base["position"])
    if position not in ("bottom-right", "bottom-left"):
        position = "bottom-right" if base["position"] != "bottom-left" else "bottom-left"
    lang = stored.get("lang", base["lang"])
    if lang not in LANGS:
        lang = base["lang"] if base["lang"] in LANGS else "ja"
    return {
        "title": _clean_text(stored.get("title"), base["title"], 60),
        "character_name": _clean_text(stored.get("character_name"), base["character_name"], 30),
        "avatar_url": _clean_url(stored.get("avatar_url"), base["avatar_url"]),
        "colors": colors,
        "welcome_message": _clean_text(stored.get("welcome_message"), base["welcome_message"], 500),
        "suggested_questions": questions,
        "position": position,
        "lang": lang,
        "max_chars": settings.limits.question_chars,
    }


def _load_stored_widget_settings(database_url: str) -> dict[str, Any] | None:
    from qa_data.db import session_scope
    from qa_data.models import AppSetting

    with session_scope(database_url) as session:
        row = session.get(AppSetting, "widget")
        return dict(row.value) if row and isinstance(row.value, dict) else None


def _load_attachment(database_url: str, attachment_id: int) -> tuple[str, str, bytes] | None:
    from qa_data.db import session_scope
    from qa_data.models import Attachment, QAStatus

    with session_scope(database_url) as session:
        attachment = session.get(Attachment, attachment_id)
        if attachment is None or attachment.entry is None:
            return None
        if attachment.entry.status != QAStatus.PUBLISHED:
            return None
        return attachment.filename, attachment.content_type, bytes(attachment.data)


def _database_ok(database_url: str) -> None:
    from sqlalchemy import text

    from qa_data.db import get_engine

    with get_engine(database_url).connect() as connection:
        connection.execute(text("SELECT 1"))


# --------------------------------------------------------------------------------------------
# The application


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or get_settings()
    web = settings.web
    database_url = settings.resolved_database_url
    rasa_url = settings.bot.rasa_url.rstrip("/")
    action_url = settings.bot.action_server_url.rstrip("/")
    limiter = RateLimiter(web.rate_limit_per_minute)
    state: dict[str, httpx.AsyncClient] = {}

    @asynccontextmanager
    async def lifespan(_app: Starlette):
        state["client"] = httpx.AsyncClient(
            timeout=httpx.Timeout(web.rasa_timeout_seconds, connect=3.0),
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
        )
        try:
            yield
        finally:
            await state["client"].aclose()

    def page(name: str):
        async def endpoint(_request: Request) -> Response:
            return FileResponse(
                STATIC_DIR / name,
                media_type="text/html; charset=utf-8",
                headers={"Cache-Control": "no-cache"},
            )

        return endpoint

    async def settings_json(_request: Request) -> Response:
        try:
            stored = await asyncio.to_thread(_load_stored_widget_settings, database_url)
        except Exception:  # the widget must still come up with its defaults
            log.exception("could not read the widget settings from the database")
            stored = None
        return JSONResponse(
            widget_settings(settings, stored), headers={"Cache-Control": "no-cache"}
        )

    async def attachment(request: Request) -> Response:
        attachment_id = request.path_params["attachment_id"]
        filename = request.path_params["filename"]
        try:
            found = await asyncio.to_thread(_load_attachment, database_url, attachment_id)
        except Exception:
            log.exception("could not read attachment %s", attachment_id)
            return _error("unavailable", 503)
        if found is None or found[0] != filename:
            return _error("not_found", 404)
        stored_name, content_type, data = found
        disposition = "inline" if content_type in INLINE_TYPES else "attachment"
        return Response(
            data,
            media_type=content_type if content_type in INLINE_TYPES else "application/octet-stream",
            headers={
                "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(stored_name)}",
                "Cache-Control": "public, max-age=300",
            },
        )

    async def chat(request: Request) -> Response:
        wait = limiter.check(client_address(request, web.trust_proxy_headers))
        if wait is not None:
            return _error("rate_limited", 429, {"Retry-After": str(int(wait) + 1)})
        try:
            body = json.loads(await request.body())
        except ValueError:
            return _error("bad_request", 400)
        if not isinstance(body, dict):
            return _error("bad_request", 400)
        sender, message = body.get("sender"), body.get("message")
        if not isinstance(sender, str) or not SENDER_RE.match(sender):
            return _error("bad_request", 400)
        if not isinstance(message, str) or not message.strip():
            return _error("bad_request", 400)
        # Button payloads carry JSON; typed text is bounded by the question limit.
        limit = settings.limits.question_chars + (500 if message.startswith("/") else 0)
        if len(message) > limit:
            return _error("too_large", 413)
        try:
            reply = await state["client"].post(
                f"{rasa_url}/webhooks/rest/webhook", json={"sender": sender, "message": message}
            )
        except httpx.TimeoutException:
            log.warning("Rasa did not answer within %s s", web.rasa_timeout_seconds)
            return _error("timeout", 504)
        except httpx.HTTPError as exc:
            log.warning("Rasa is unreachable: %s", exc)
            return _error("unavailable", 503)
        if reply.status_code != 200:
            log.warning("Rasa answered HTTP %s", reply.status_code)
            return _error("bad_gateway", 502)
        try:
            items = reply.json()
        except ValueError:
            return _error("bad_gateway", 502)
        if not isinstance(items, list):
            return _error("bad_gateway", 502)
        return JSONResponse(items, headers={"Cache-Control": "no-store"})

    async def healthz(_request: Request) -> Response:
        client = state["client"]

        async def probe(url: str) -> dict[str, Any]:
            started = time.perf_counter()
            try:
                response = await client.get(url, timeout=3.0)
                ok = response.status_code == 200
                result: dict[str, Any] = {"ok": ok}
                if not ok:
                    result["detail"] = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                result = {"ok": False, "detail": type(exc).__name__}
            result["ms"] = round((time.perf_counter() - started) * 1000, 1)
            return result

        async def database() -> dict[str, Any]:
            started = time.perf_counter()
            try:
                await asyncio.wait_for(asyncio.to_thread(_database_ok, database_url), 5.0)
                result: dict[str, Any] = {"ok": True}
            except Exception as exc:
                result = {"ok": False, "detail": type(exc).__name__}
            result["ms"] = round((time.perf_counter() - started) * 1000, 1)
            return result

        rasa, actions, db = await asyncio.gather(
            probe(f"{rasa_url}/"), probe(f"{action_url}/health"), database()
        )
        healthy = rasa["ok"] and actions["ok"] and db["ok"]
        return JSONResponse(
            {
                "status": "ok" if healthy else "degraded",
                "rasa": rasa,
                "action_server": actions,
                "database": db,
            },
            status_code=200 if healthy else 503,
            headers={"Cache-Control": "no-store"},
        )

    async def not_found(_request: Request, _exc: Exception) -> Response:
        return _error("not_found", 404)

    routes = [
        Route("/", page("demo.html")),
        Route("/chat", page("chat.html")),
        Route("/healthz", healthz),
        Route("/api/chat", chat, methods=["POST"]),
        Route("/widget/settings.json", settings_json),
        Route("/attachments/{attachment_id:int}/{filename:str}", attachment),
        Mount("/widget", StaticFiles(directory=STATIC_DIR), name="widget"),
    ]
    middleware = [
        Middleware(SecurityHeadersMiddleware),
        Middleware(
            CORSMiddleware,
            allow_origins=list(web.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type"],
            max_age=600,
        ),
        Middleware(BodySizeLimitMiddleware, max_bytes=web.max_request_bytes),
    ]
    return Starlette(
        routes=routes,
        middleware=middleware,
        lifespan=lifespan,
        exception_handlers={404: not_found},
    )


def serve(host: str = "0.0.0.0", port: int | None = None) -> None:
    """Run the public web server in the foreground (``make run`` starts it on port 8080)."""
    import uvicorn

    settings = get_settings()
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port or settings.ports.web,
        proxy_headers=settings.web.trust_proxy_headers,
        server_header=False,
        log_level="info",
    )


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description="madoguchi public web server")
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    serve(args.host, args.port)


if __name__ == "__main__":
    main()
