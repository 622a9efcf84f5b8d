"""Helpers for the widget tests: the real public web server in its own process, static host
pages on another origin, screenshots."""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tests.servers import free_port, wait_http

REPO_ROOT = Path(__file__).resolve().parents[2]
WIDGET_DIR = REPO_ROOT / "widget"
AXE_JS = WIDGET_DIR / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = REPO_ROOT / "test-output" / "screenshots"
README_SCREENSHOTS = WIDGET_DIR / "screenshots"
# The README's screenshots are tracked files: only a deliberate run rewrites them, so that
# `make test` leaves the work tree clean.
UPDATE_README_SCREENSHOTS = os.environ.get("MADOGUCHI_UPDATE_SCREENSHOTS") == "1"
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "has_touch": True,
    "is_mobile": True,
    "locale": "ja-JP",
}
DEAD_URL = "http://127.0.0.1:9"  # the discard port: nothing listens there


@dataclass
class WebServer:
    url: str
    process: subprocess.Popen
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def start_web_server(database_url: str, log_dir: Path, **env: str) -> WebServer:
    """``python -m widget.server`` on a free port; ``env`` are MADOGUCHI_* overrides."""
    port = free_port()
    environment = {
        **os.environ,
        "MADOGUCHI_DATABASE_URL": database_url,
        "MADOGUCHI_BOT__RASA_URL": DEAD_URL,
        "MADOGUCHI_BOT__ACTION_SERVER_URL": DEAD_URL,
        **env,
    }
    log_path = log_dir / f"web-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "widget.server", "--host", "127.0.0.1", "--port", str(port)],
            cwd=REPO_ROOT,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = WebServer(f"http://127.0.0.1:{port}", process, log_path, env)
    try:
        wait_http(f"{server.url}/widget/settings.json", process, log_path, 30)
    except RuntimeError:
        server.stop()
        raise
    return server


@dataclass
class HostSite:
    """Static pages on another origin (no CSP), like a city's own homepage."""

    root: Path
    url: str

    def page(self, name: str, html: str) -> str:
        (self.root / name).write_text(html, encoding="utf-8")
        return f"{self.url}/{name}"


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *_args) -> None:
        pass


def host_html(widget_origin: str, body: str = "", head: str = "", lang: str = "ja") -> str:
    return f"""<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover">
<title>ホストページ</title>{head}</head>
<body><main><h1>みどり市</h1><p id="host-text">市のホームページの本文です。</p>{body}</main>
<script src="{widget_origin}/widget/madoguchi.js" data-lang="{lang}" defer></script>
</body></html>"""


def screenshot(page, name: str, readme: bool = False) -> Path:
    """Saves to test-output/screenshots/; ``readme`` ones also to widget/screenshots/ (at CSS
    scale, to keep the tracked files small) when MADOGUCHI_UPDATE_SCREENSHOTS=1."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    if readme and UPDATE_README_SCREENSHOTS:
        README_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(README_SCREENSHOTS / f"{name}.png"), scale="css")
    return path
