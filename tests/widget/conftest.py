"""Fixtures for the widget tests: the real public web server in its own process, a plain
static server for third-party host pages (another origin, no CSP), and Debian Chromium."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from widget_helpers import (
    HostSite,
    QuietHandler,
    WebServer,
    start_web_server,
)

from tests.browser import DESKTOP


@pytest.fixture
def web_server_factory(tmp_path: Path) -> Iterator[Callable[..., WebServer]]:
    servers: list[WebServer] = []

    def factory(database_url: str, **env: str) -> WebServer:
        server = start_web_server(database_url, tmp_path, **env)
        servers.append(server)
        return server

    yield factory
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def host_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostSite]:
    root = tmp_path_factory.mktemp("host-site")
    handler = functools.partial(QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield HostSite(root, f"http://127.0.0.1:{server.server_address[1]}")
    server.shutdown()
    server.server_close()


@pytest.fixture
def new_context(browser):
    contexts = []

    def factory(**options):
        context = browser.new_context(**{**DESKTOP, **options})
        context.set_default_timeout(20_000)
        contexts.append(context)
        return context

    yield factory
    for context in contexts:
        context.close()
