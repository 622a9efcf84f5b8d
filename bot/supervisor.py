"""``madoguchi run`` (``make run``): prepare the store and the model, start every service.

In order: upgrade the database; seed the demo city when the store is empty; train the Rasa model
when it is missing or its training data changed; start the action server (warmed up), Rasa (REST
and socket.io channels), the staff console (Streamlit) and the public web server (widget and demo
page), each on its port from settings; print the URLs; stop everything cleanly on Ctrl-C.
A port already in use stops the start with a clear message before anything is started.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import typer

from bot.training import (
    CREDENTIALS_FILE,
    ENDPOINTS_FILE,
    REPO_ROOT,
    TrainingError,
    app_python,
    rasa_python,
    service_env,
    train,
)

START_TIMEOUT = 300.0
STOP_TIMEOUT = 15.0
EXIT_FAILED = 1


@dataclass
class Service:
    name: str  # shown to the operator
    key: str  # settings.ports field
    port: int
    command: list[str]
    ready_path: str
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen | None = None
    log: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class SupervisorError(RuntimeError):
    pass


def port_in_use(port: int, host: str = "0.0.0.0") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def check_ports(services: list[Service]) -> list[str]:
    """One message per port that is already taken (or used twice in the settings)."""
    problems = []
    seen: dict[int, str] = {}
    for service in services:
        if service.port in seen:
            problems.append(
                f"ポート {service.port} が {seen[service.port]} と {service.name} の両方に"
                "設定されています。"
            )
        seen[service.port] = service.name
        if port_in_use(service.port):
            problems.append(
                f"ポート {service.port}（{service.name}）はすでに使われています。"
                f"使っているプログラムを止めるか、config.yml の madoguchi.ports.{service.key}"
                f"（または環境変数 MADOGUCHI_PORTS__{service.key.upper()}）で別のポートを"
                "指定してください。"
            )
    return problems


def plan(model: Path | None = None) -> list[Service]:
    """The services to start, with their commands (model may be None for a port check only)."""
    from qa_data.settings import get_settings

    settings = get_settings()
    ports = settings.ports
    action_endpoint = f"http://127.0.0.1:{ports.actions}/webhook"
    services = [
        Service(
            "アクションサーバー",
            "actions",
            ports.actions,
            [str(app_python()), "-m", "rasa_sdk", "--actions", "bot.actions",
             "--port", str(ports.actions)],
            "/health",
        ),
        Service(
            "Rasa",
            "rasa",
            ports.rasa,
            [str(rasa_python()), "-m", "rasa", "run", "--model", str(model or ""),
             "--endpoints", str(ENDPOINTS_FILE), "--credentials", str(CREDENTIALS_FILE),
             "--port", str(ports.rasa)],
            "/",
            env={"MADOGUCHI_ACTION_ENDPOINT": action_endpoint},
        ),
    ]  # fmt: skip
    if (REPO_ROOT / "admin_ui" / "app.py").exists():
        services.append(
            Service(
                "管理画面",
                "console",
                ports.console,
                [
                    str(app_python()),
                    "-m",
                    "streamlit",
                    "run",
                    str(REPO_ROOT / "admin_ui" / "app.py"),
                    "--server.port",
                    str(ports.console),
                    "--server.headless",
                    "true",
                    "--browser.gatherUsageStats",
                    "false",
                ],
                "/_stcore/health",
            )
        )
    if (REPO_ROOT / "widget" / "server.py").exists():
        services.append(
            Service(
                "公開Webサーバー",
                "web",
                ports.web,
                [
                    str(app_python()),
                    "-m",
                    "uvicorn",
                    "--factory",
                    "widget.server:create_app",
                    "--host",
                    "0.0.0.0",
                    "--port",
                    str(ports.web),
                ],
                "/",
                env={"MADOGUCHI_BOT__RASA_URL": f"http://127.0.0.1:{ports.rasa}"},
            )
        )
    return services


def prepare_store(echo=typer.echo) -> None:
    """Upgrade the schema; seed the demo city (and its demo administrator) when empty."""
    from sqlalchemy import func, select

    from qa_data.db import session_scope, upgrade
    from qa_data.models import GarbageItem, QAEntry

    upgrade()
    echo("データベースを最新の状態に更新しました。")
    with session_scope() as session:
        entries = session.scalar(select(func.count()).select_from(QAEntry))
        items = session.scalar(select(func.count()).select_from(GarbageItem))
    if entries or items:
        return
    from qa_data.demo import seed_demo

    report = seed_demo()
    for line in report.lines:
        echo(f"  {line}")
    if not report.ok:
        raise SupervisorError("デモデータを読み込めませんでした:\n" + "\n".join(report.errors))
    echo("データが空だったため、デモの市（みどり市）を読み込みました。")
    try:
        from qa_data.accounts import DEMO_ADMIN_LOGIN, DEMO_ADMIN_PASSWORD, ensure_demo_admin

        with session_scope() as session:
            if ensure_demo_admin(session):
                echo(
                    f"管理画面のデモ用管理者: {DEMO_ADMIN_LOGIN} / {DEMO_ADMIN_PASSWORD}"
                    "（初回ログイン後に変更してください）"
                )
    except ImportError:
        pass


def _start(service: Service, log_dir: Path) -> None:
    log_dir.mkdir(parents=True, exist_ok=True)
    service.log = log_dir / f"{service.key}.log"
    handle = service.log.open("ab")
    service.process = subprocess.Popen(
        service.command,
        cwd=REPO_ROOT,
        env=service_env(service.env),
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # Ctrl-C reaches us only; we stop the children in order.
    )
    handle.close()


def _tail(path: Path | None, chars: int = 3000) -> str:
    if path is None or not path.exists():
        return ""
    return path.read_text(encoding="utf-8", errors="replace")[-chars:]


def _wait_ready(service: Service, timeout: float = START_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if service.process is None or service.process.poll() is not None:
            raise SupervisorError(
                f"{service.name} が起動できませんでした。"
                f"ログ（{service.log}）:\n{_tail(service.log)}"
            )
        try:
            if httpx.get(service.url + service.ready_path, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SupervisorError(f"{service.name} が {timeout:.0f} 秒以内に起動しませんでした。")


def _warm_up_actions(service: Service) -> None:
    body = {
        "next_action": "action_warmup",
        "sender_id": "warmup",
        "tracker": {"sender_id": "warmup", "slots": {}, "latest_message": {}, "events": []},
        "domain": {},
    }
    httpx.post(f"{service.url}/webhook", json=body, timeout=300).raise_for_status()


def stop_all(services: list[Service]) -> None:
    """SIGTERM to each child's process group (reverse start order), then SIGKILL stragglers."""
    running = [s for s in reversed(services) if s.process and s.process.poll() is None]
    for service in running:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(service.process.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    for service in running:
        try:
            service.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(service.process.pid, signal.SIGKILL)
            service.process.wait(timeout=5)


def run(echo=typer.echo) -> int:
    """Everything ``make run`` does after installing. Returns the exit code."""
    from qa_data.settings import get_settings

    problems = check_ports(plan())
    if problems:
        for problem in problems:
            echo(problem, err=True)
        return EXIT_FAILED
    services: list[Service] = []
    interrupted = False

    def on_signal(signum, _frame):
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        prepare_store(echo)
        echo("Rasa のモデルを確認しています（データが変わっていれば学習します）…")
        model = train()
        echo(
            f"モデル: {model.relative_to(REPO_ROOT) if model.is_relative_to(REPO_ROOT) else model}"
        )
        services = plan(model)
        log_dir = REPO_ROOT / "data" / "logs"
        for service in services:
            echo(f"{service.name} を起動しています（ポート {service.port}）…")
            _start(service, log_dir)
            _wait_ready(service)
            if service.key == "actions":
                _warm_up_actions(service)
        settings = get_settings()
        echo("")
        echo(f"madoguchi（{settings.city_name}）が起動しました。Ctrl-C で停止します。")
        for service in services:
            suffix = "/webhooks/rest/webhook" if service.key == "rasa" else ""
            echo(f"  {service.name:<12} {service.url}{suffix}")
        echo(f"  ログ: {log_dir}")
        while True:
            for service in services:
                if service.process.poll() is not None:
                    raise SupervisorError(
                        f"{service.name} が停止しました"
                        f"（終了コード {service.process.returncode}）。"
                        f"ログ（{service.log}）:\n{_tail(service.log)}"
                    )
            time.sleep(1)
    except KeyboardInterrupt:
        interrupted = True
        echo("\n停止しています…")
    except (SupervisorError, TrainingError) as error:
        echo(str(error), err=True)
        return EXIT_FAILED
    finally:
        stop_all(services)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if interrupted:
            echo("すべて停止しました。")
    return 0


def main() -> None:  # pragma: no cover
    sys.exit(run())
