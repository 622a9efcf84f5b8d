"""Real-server fixtures: a trained Rasa model, ``rasa run`` and the action server on free ports.

Registered as a pytest plugin (``pytest_plugins = ["tests.servers"]`` in ``tests/conftest.py``).

- ``bot_stack`` (session scope) trains the model once (cached under ``models/`` by a fingerprint
  of the training data, see ``bot.training``), seeds a fresh SQLite database with a small test
  city (``seed_test_city``: departments, QA entries, the demo garbage dictionary), starts the real
  action server (``python -m rasa_sdk``) and the real ``rasa run`` (REST + socket.io channels) on
  free ports, and yields a :class:`BotStack`:
  ``.rasa_url``, ``.action_url``, ``.database_url``, ``.chat(sender, message)``,
  ``.stop_actions()``, ``.start_actions(database_url=None)``.
  Everything is killed at the end of the session.
- ``MADOGUCHI_RASA_PYTHON`` picks the Rasa interpreter (default ``.venv-rasa/bin/python``;
  ``/tmp/probe/venv-rasa/bin/python`` while the project venv is being built).
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
DEMO_GARBAGE_CSV = REPO_ROOT / "qa_data" / "demo" / "demo_garbage.csv"
TSU_GARBAGE_CSV = REPO_ROOT.parent / "shared" / "datasets" / "tsu-garbage" / "tsu_gomi_bunbetsu.csv"
PROBE_RASA_PYTHON = Path("/tmp/probe/venv-rasa/bin/python")
START_TIMEOUT = 180.0


def ensure_rasa_python() -> Path:
    """The Rasa interpreter (``MADOGUCHI_RASA_PYTHON`` is set for child processes)."""
    if not os.environ.get("MADOGUCHI_RASA_PYTHON"):
        project = REPO_ROOT / ".venv-rasa" / "bin" / "python"
        if not project.exists() and PROBE_RASA_PYTHON.exists():
            os.environ["MADOGUCHI_RASA_PYTHON"] = str(PROBE_RASA_PYTHON)
    from bot.training import rasa_python

    python = rasa_python()
    if not python.exists():
        pytest.fail(f"Rasa venv missing: {python} (run make install)")
    return python


def run_in_rasa_venv(script: str, payload: Any) -> Any:
    """Run ``script`` under the Rasa interpreter with ``payload`` as JSON on stdin; return the JSON
    of its last output line."""
    result = subprocess.run(
        [str(ensure_rasa_python()), "-c", script],
        input=json.dumps(payload, ensure_ascii=False),
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env={"PYTHONPATH": str(REPO_ROOT), "RASA_TELEMETRY_ENABLED": "false",
             "TF_CPP_MIN_LOG_LEVEL": "2", "PATH": "/usr/bin:/bin"},
        timeout=300,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---- test data -----------------------------------------------------------------------------

TEST_DEPARTMENTS = [
    ("市民課", "012-345-6711", "平日 8時30分～17時15分", "shimin@test.example.jp"),
    ("子育て支援課", "012-345-6722", "平日 8時30分～17時15分", "kosodate@test.example.jp"),
    ("税務課", "012-345-6733", "平日 8時30分～17時15分（木曜日は19時まで）", None),
    ("環境課", "012-345-6744", "平日 8時30分～17時15分", None),
]

# (external_id, department, major, minor, question, alternates, answer, links, keywords, status)
TEST_QA: list[tuple[Any, ...]] = [
    (
        "T-0001", "市民課", "戸籍・住民票", "住民票",
        "住民票の写しを取りたい",
        ["住民票を発行してほしい", "住民票の交付を受けたい"],
        "市民課の窓口で申請してください。\n\n- 本人確認書類が必要です\n- 手数料は1通300円です",
        ["住民票の写しの請求 https://www.city.test.example.jp/juminhyo"],
        ["住民票", "写し"], "published",
    ),
    (
        "T-0002", "市民課", "戸籍・住民票", "住民票",
        "住民票をコンビニで取るには",
        ["コンビニ交付を使いたい"],
        "マイナンバーカードがあれば、全国のコンビニエンスストアで取得できます（6時30分～23時）。",
        [], ["コンビニ交付"], "published",
    ),
    (
        "T-0003", "市民課", "戸籍・住民票", "印鑑登録",
        "印鑑登録をしたい",
        ["実印を登録したい"],
        "登録する印鑑と本人確認書類を持って、市民課の窓口へお越しください。",
        [], ["印鑑登録", "実印"], "published",
    ),
    (
        "T-0004", "市民課", "戸籍・住民票", "マイナンバー",
        "マイナンバーカードを申請したい",
        ["マイナンバーカードを作りたい"],
        "通知カードに同封の申請書、またはスマートフォンから申請できます。",
        [], ["マイナンバーカード"], "published",
    ),
    (
        "T-0005", "子育て支援課", "子育て・保育", "保育園",
        "保育園の入園を申し込みたい",
        ["保育所に入りたい", "保育園の申し込み方法"],
        "4月入園の申し込みは前年の11月に受け付けます。子育て支援課へお問い合わせください。",
        [], ["保育園", "保育所", "入園"], "published",
    ),
    (
        "T-0006", "子育て支援課", "子育て・保育", "手当",
        "児童手当を申請したい",
        ["児童手当の手続き"],
        "出生や転入の翌日から15日以内に、子育て支援課で申請してください。",
        [], ["児童手当"], "published",
    ),
    (
        "T-0007", "税務課", "税金", "住民税",
        "住民税の納付書をなくした",
        ["住民税の納付書を再発行してほしい"],
        "税務課で再発行します。電話でもお申し込みいただけます。",
        [], ["住民税", "納付書"], "published",
    ),
    (
        "T-0008", "税務課", "税金", "固定資産税",
        "固定資産税の支払い方法",
        ["固定資産税はどこで払えますか"],
        "納付書で金融機関・コンビニ、または口座振替で納められます。",
        [], ["固定資産税"], "published",
    ),
    (
        "T-0009", "環境課", "ごみ・環境", "粗大ごみ",
        "粗大ごみの申し込み方法",
        ["粗大ごみを出したい"],
        "粗大ごみ受付センターへ電話で申し込み、処理券を貼って指定日に出してください。",
        [], ["粗大ごみ"], "published",
    ),
    (
        "T-0010", "環境課", "ごみ・環境", "収集日",
        "ごみの収集日を知りたい",
        ["ごみの日はいつですか"],
        "地区ごとの収集日はごみカレンダーでご確認ください。",
        [], ["収集日", "ごみカレンダー"], "published",
    ),
    (
        "T-0099", "市民課", "戸籍・住民票", "住民票",
        "下書きの質問（公開前）",
        [], "まだ公開していない回答です。", [], ["下書き"], "draft",
    ),
]  # fmt: skip


def _save_qa(session: Any, row: tuple[Any, ...]) -> None:
    (external_id, dept, major, minor, question, alternates, answer, links, keywords, status) = row
    fields = {
        "department": dept,
        "category_major": major,
        "category_minor": minor,
        "question": question,
        "alternate_questions": alternates,
        "answer": answer,
        "links": links,
        "keywords": keywords,
        "status": status,
    }
    from qa_data.qa_store import save_entry

    save_entry(session, external_id=external_id, fields=fields, actor="test", change="import")


def load_garbage_csv(session: Any, path: Path) -> int:
    """Rows of a garbage CSV: the demo layout (品目,読み,分別区分,出し方,備考) or the Tsu City
    layout (ID,…,品目,分別区分,出し方のポイント)."""
    from qa_data.models import GarbageItem

    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    items = [
        GarbageItem(
            name=row["品目"].strip(),
            reading=(row.get("読み") or "").strip() or None,
            category=row["分別区分"].strip(),
            how_to=(row.get("出し方") or row.get("出し方のポイント") or "").strip() or None,
            notes=(row.get("備考") or "").strip() or None,
        )
        for row in rows
        if (row.get("品目") or "").strip()
    ]
    session.add_all(items)
    return len(items)


def seed_test_city(url: str, garbage_csv: Path | None = DEMO_GARBAGE_CSV) -> None:
    """Departments, QA entries (through ``qa_store.save_entry``) and a garbage dictionary."""
    from qa_data.db import session_scope, upgrade
    from qa_data.models import Department

    upgrade(url)
    with session_scope(url) as session:
        for name, phone, hours, email in TEST_DEPARTMENTS:
            session.add(Department(name=name, phone=phone, opening_hours=hours, email=email))
        session.flush()
        for row in TEST_QA:
            _save_qa(session, row)
        if garbage_csv is not None:
            load_garbage_csv(session, garbage_csv)


# ---- processes -----------------------------------------------------------------------------


def wait_http(url: str, process: subprocess.Popen, log: Path, timeout: float) -> None:
    """Wait until ``url`` answers; raise with the log's tail if the process exits or time is up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} の起動に失敗しました:\n{_tail(log)}")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} が {timeout:.0f} 秒以内に起動しませんでした:\n{_tail(log)}")


def _tail(log: Path, chars: int = 4000) -> str:
    try:
        return log.read_text(encoding="utf-8", errors="replace")[-chars:]
    except OSError:
        return ""


def _stop(process: subprocess.Popen | None, timeout: float = 15.0) -> None:
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


def _spawn(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """``command`` in its own process group (so ``_stop`` ends its children too), output
    appended to ``log``."""
    with log.open("ab") as handle:
        return subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def start_action_server(
    port: int, database_url: str, log: Path, timeout: float = START_TIMEOUT
) -> subprocess.Popen:
    """``python -m rasa_sdk --actions bot.actions`` in its own process group, warmed up."""
    from bot.training import app_python, service_env

    process = _spawn(
        [str(app_python()), "-m", "rasa_sdk", "--actions", "bot.actions", "--port", str(port)],
        service_env({"MADOGUCHI_DATABASE_URL": database_url}),
        log,
    )
    url = f"http://127.0.0.1:{port}"
    wait_http(f"{url}/health", process, log, timeout)
    warm_up_actions(url)
    return process


def warm_up_actions(action_url: str, timeout: float = 120.0) -> dict[str, Any]:
    """One ``action_warmup`` call: loads the retriever and the garbage index in the worker."""
    body = {
        "next_action": "action_warmup",
        "sender_id": "warmup",
        "tracker": {"sender_id": "warmup", "slots": {}, "latest_message": {}, "events": []},
        "domain": {},
        "version": "3.6.21",
    }
    response = httpx.post(f"{action_url}/webhook", json=body, timeout=timeout)
    response.raise_for_status()
    return response.json()


def start_rasa(
    port: int, model: Path, action_url: str, log: Path, timeout: float = START_TIMEOUT
) -> subprocess.Popen:
    from bot.training import CREDENTIALS_FILE, ENDPOINTS_FILE, rasa_python, service_env

    process = _spawn(
        [
            str(rasa_python()),
            "-m",
            "rasa",
            "run",
            "--model",
            str(model),
            "--endpoints",
            str(ENDPOINTS_FILE),
            "--credentials",
            str(CREDENTIALS_FILE),
            "--port",
            str(port),
            "--interface",
            "127.0.0.1",
        ],
        service_env({"MADOGUCHI_ACTION_ENDPOINT": f"{action_url}/webhook"}),
        log,
    )
    wait_http(f"http://127.0.0.1:{port}/", process, log, timeout)
    return process


@dataclass
class BotStack:
    rasa_url: str
    action_url: str
    database_url: str
    model: Path
    log_dir: Path
    action_port: int
    _actions: subprocess.Popen | None = None
    _rasa: subprocess.Popen | None = None
    client: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=60))

    def chat(self, sender: str, message: str) -> list[dict[str, Any]]:
        """One REST webhook round trip: the list of bot messages."""
        response = self.client.post(
            f"{self.rasa_url}/webhooks/rest/webhook", json={"sender": sender, "message": message}
        )
        response.raise_for_status()
        return response.json()

    @staticmethod
    def new_sender() -> str:
        return f"test-{uuid.uuid4().hex}"

    def stop_actions(self) -> None:
        _stop(self._actions)
        self._actions = None

    def start_actions(self, database_url: str | None = None) -> None:
        """(Re)start the action server on the same port, optionally against another database."""
        self.stop_actions()
        if database_url:
            self.database_url = database_url
        self._actions = start_action_server(
            self.action_port, self.database_url, self.log_dir / "actions.log"
        )

    def query_logs(self, sender: str) -> list[Any]:
        """The ``QueryLog`` rows stored for ``sender``'s conversation, oldest first."""
        from sqlalchemy import select

        from qa_data.chat_log import hash_session_id
        from qa_data.db import session_scope
        from qa_data.models import QueryLog

        with session_scope(self.database_url) as session:
            return list(
                session.scalars(
                    select(QueryLog)
                    .where(QueryLog.session_id == hash_session_id(sender))
                    .order_by(QueryLog.id)
                )
            )

    def action_log(self) -> str:
        return _tail(self.log_dir / "actions.log", 20000)

    def rasa_log(self) -> str:
        return _tail(self.log_dir / "rasa.log", 20000)

    def close(self) -> None:
        self.client.close()
        _stop(self._rasa)
        self.stop_actions()


def trained_model() -> Path:
    """The model for the current training data, trained now if missing (cached across runs)."""
    ensure_rasa_python()
    from bot.training import train

    return train(quiet=True)


def _start_stack(model: Path, work: Path, database_url: str) -> BotStack:
    """The action server and ``rasa run`` on free ports, logging into ``work``; the caller closes
    the stack (a failed start closes what it had started)."""
    action_port, rasa_port = free_port(), free_port()
    stack = BotStack(
        rasa_url=f"http://127.0.0.1:{rasa_port}",
        action_url=f"http://127.0.0.1:{action_port}",
        database_url=database_url,
        model=model,
        log_dir=work,
        action_port=action_port,
    )
    try:
        stack.start_actions()
        stack._rasa = start_rasa(rasa_port, model, stack.action_url, work / "rasa.log")
    except BaseException:
        stack.close()
        raise
    return stack


@pytest.fixture(scope="session")
def bot_model() -> Path:
    return trained_model()


@pytest.fixture(scope="session")
def bot_stack(bot_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotStack]:
    ensure_rasa_python()
    work = tmp_path_factory.mktemp("bot_stack")
    url = f"sqlite:///{work / 'madoguchi.db'}"
    seed_test_city(url)
    stack = _start_stack(bot_model, work, url)
    try:
        yield stack
    finally:
        stack.close()


def main() -> None:  # pragma: no cover - manual use: python -m tests.servers
    """Start a stack by hand and print its URLs (Ctrl-C stops it)."""
    ensure_rasa_python()
    work = Path(os.environ.get("TMPDIR", "/tmp")) / f"madoguchi-stack-{uuid.uuid4().hex[:6]}"
    work.mkdir(parents=True)
    url = f"sqlite:///{work / 'madoguchi.db'}"
    seed_test_city(url)
    model = trained_model()
    stack = None
    try:
        stack = _start_stack(model, work, url)
        print(json.dumps({"rasa_url": stack.rasa_url, "action_url": stack.action_url, "db": url}))
        sys.stdout.flush()
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        if stack is not None:
            stack.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":  # pragma: no cover
    main()
