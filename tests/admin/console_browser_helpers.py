"""Helpers for the console browser test: the real Streamlit console in its own process, Debian
Chromium, and the few Streamlit widgets the test drives."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.browser import DESKTOP
from tests.servers import free_port, wait_http

REPO_ROOT = Path(__file__).resolve().parents[2]
FAILURE_SCREENSHOTS = REPO_ROOT / "test-output" / "screenshots"
START_TIMEOUT = 90.0
# A Streamlit rerun takes seconds on a busy 2-core machine; Playwright's default is 5 s.
WAIT_MS = 30_000


@dataclass
class Console:
    url: str
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-6000:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        # Streamlit runs in its own process group: end it and anything it started.
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)


def start_console(database_url: str, log_dir: Path) -> Console:
    """``streamlit run admin_ui/app.py`` as ``madoguchi run`` starts it, on a free port."""
    from bot.training import app_python, service_env

    port = free_port()
    log_path = log_dir / f"console-{port}.log"
    env = service_env({"MADOGUCHI_DATABASE_URL": database_url})
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                str(app_python()), "-m", "streamlit", "run",
                str(REPO_ROOT / "admin_ui" / "app.py"),
                "--server.port", str(port), "--server.address", "127.0.0.1",
                "--server.headless", "true", "--browser.gatherUsageStats", "false",
                # Other work edits the tree while tests run: do not watch the sources.
                "--server.fileWatcherType", "none",
            ],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    console = Console(f"http://127.0.0.1:{port}", process, log_path)
    try:
        wait_http(f"{console.url}/_stcore/health", process, log_path, START_TIMEOUT)
    except RuntimeError:
        console.stop()
        raise
    return console


@contextmanager
def desktop_page(browser) -> Iterator:
    """A desktop-sized page in a fresh context of the session's Chromium."""
    from playwright.sync_api import expect

    expect.set_options(timeout=WAIT_MS)
    context = browser.new_context(**DESKTOP)
    try:
        context.set_default_timeout(WAIT_MS)
        yield context.new_page()
    finally:
        context.close()


def failure_screenshot(page, name: str) -> Path | None:
    """Best effort: a screenshot must never hide the failure it documents."""
    FAILURE_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = FAILURE_SCREENSHOTS / f"{name}.png"
    try:
        page.screenshot(path=str(path), full_page=True)
    except Exception:
        return None
    return path


def wait_until_idle(page) -> None:
    """Streamlit shows a running indicator while the script reruns; wait until it is gone."""
    page.wait_for_timeout(200)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden")


def choose_option(page, label: str, option_text: str) -> None:
    """Pick an option of an ``st.selectbox`` by typing part of its text."""
    box = page.get_by_label(label, exact=True)
    box.click()
    box.fill(option_text)
    page.get_by_role("option").filter(has_text=option_text).first.click()
    wait_until_idle(page)
