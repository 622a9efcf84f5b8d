"""The widget end to end: Chromium → the public web server → the real Rasa → the real action
server → the store. Desktop and phone flows (with screenshots), sanitising of QA content,
accessibility with real answers, and recovery after Rasa or the action server was down."""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import threading
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from test_widget_browser import SHADOW, WIDGET, open_widget, run_axe, settle, wait_js
from widget_helpers import PHONE, free_port, host_html, screenshot

from qa_data.chat_log import hash_session_id
from qa_data.db import get_engine, session_scope
from qa_data.models import Feedback
from qa_data.qa_store import save_entry

pytestmark = [pytest.mark.browser, pytest.mark.servers]


@pytest.fixture
def bot_web(bot_stack, web_server_factory):
    """The public web server in front of the session's real bot stack."""
    return web_server_factory(
        bot_stack.database_url,
        MADOGUCHI_BOT__RASA_URL=bot_stack.rasa_url,
        MADOGUCHI_BOT__ACTION_SERVER_URL=bot_stack.action_url,
        MADOGUCHI_WEB__RATE_LIMIT_PER_MINUTE="1000",
    )


def ask(page, text: str) -> None:
    """Type and send; wait for the bot's reply to this message."""
    rows = page.locator(f"{WIDGET} .row.bot").count()
    page.locator(f"{WIDGET} textarea").fill(text)
    page.keyboard.press("Enter")
    wait_bot_reply(page, rows)


def wait_bot_reply(page, rows_before: int) -> None:
    wait_js(
        page,
        f"{SHADOW}.querySelectorAll('.row.bot').length > {rows_before} "
        f"&& !{SHADOW}.querySelector('.typing')",
        timeout=60,
    )


def last_bot(page):
    return page.locator(f"{WIDGET} .row.bot").last


def last_answer(page):
    """The answer card of the bot's last reply (the reply's text in the failure message)."""
    reply = last_bot(page)
    assert reply.locator(".answer").count() == 1, reply.inner_text()
    return reply.locator(".answer")


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_conversation_flow(bot_stack, bot_web, new_context, device):
    readme = device == "phone"
    context = new_context(**(PHONE if device == "phone" else {}))
    page = context.new_page()
    page.goto(bot_web.url + "/")
    page.wait_for_selector(f"{WIDGET}[data-ready]", state="attached")
    screenshot(page, f"{device}-1-closed", readme)

    open_widget(page, bot_web.url + "/")
    assert page.locator(f"{WIDGET} .chips .btn").count() >= 2
    screenshot(page, f"{device}-2-open", readme)

    # A question with a clear answer: the answer card with its links and feedback buttons.
    ask(page, "住民票の写しを取りたいのですが")
    answer = last_answer(page)
    assert "本人確認書類" in answer.inner_text()
    link = answer.locator("a[href^='https://www.city.test.example.jp']").first
    assert link.get_attribute("target") == "_blank"
    assert link.get_attribute("rel") == "noopener noreferrer"
    assert last_bot(page).locator(".fb .btn").count() == 2
    screenshot(page, f"{device}-3-answer", readme)

    # A vague question: candidates; clicking one shows its title as the resident's message.
    ask(page, "税金について")
    candidate = last_bot(page).locator(".btn", has_text="固定資産税の支払い方法")
    candidate.wait_for()
    screenshot(page, f"{device}-4-candidates", readme)
    rows = page.locator(f"{WIDGET} .row.bot").count()
    candidate.click()
    wait_bot_reply(page, rows)
    assert page.locator(f"{WIDGET} .row.user .bubble").last.inner_text() == "固定資産税の支払い方法"
    assert "口座振替" in last_answer(page).inner_text()

    # Feedback: the pressed button stays marked, the group is disabled, the bot thanks.
    helpful = last_bot(page).locator(".fb .btn", has_text="解決した")
    rows = page.locator(f"{WIDGET} .row.bot").count()
    helpful.click()
    wait_bot_reply(page, rows)
    assert "ありがとうございます" in last_bot(page).inner_text()
    pressed = page.locator(f"{WIDGET} .fb .btn[aria-pressed=true]")
    assert pressed.last.inner_text() == "解決した"
    assert pressed.last.is_disabled()
    screenshot(page, f"{device}-5-feedback", readme)
    sid = page.evaluate("JSON.parse(sessionStorage.getItem('madoguchi:sid'))")
    with session_scope(bot_stack.database_url) as session:
        stored = session.scalars(
            select(Feedback).where(Feedback.session_id == hash_session_id(sid))
        ).all()
        assert [(f.qa_external_id, f.helpful) for f in stored] == [("T-0008", True)]

    # Close and reopen: the history is still there.
    history = page.locator(f"{WIDGET} .log .row").count()
    if device == "phone":
        page.locator(f"{WIDGET} button.x").click()
    else:
        page.keyboard.press("Escape")
    assert page.locator(f"{WIDGET} .panel").is_hidden()
    screenshot(page, f"{device}-6-closed-again", readme)
    page.locator(f"{WIDGET} .launcher").click()
    settle(page)
    assert page.locator(f"{WIDGET} .log .row").count() == history
    screenshot(page, f"{device}-7-reopened", readme)
    # A reload keeps it too (same tab: sessionStorage), without repeating it to screen readers.
    page.reload()
    page.wait_for_selector(f"{WIDGET}[data-ready]", state="attached")
    assert page.locator(f"{WIDGET} .log .row").count() == history
    assert page.evaluate(f"{SHADOW}.querySelector('[aria-live=polite]').children.length") == 0
    assert page.locator(f"{WIDGET} .fb .btn[aria-pressed=true]").last.is_disabled()


def test_contact_card_and_accessibility_with_real_answers(bot_web, new_context):
    page = new_context(bypass_csp=True).new_page()
    open_widget(page, bot_web.url + "/")
    ask(page, "住民票の写しを取りたい")
    ask(page, "税金について")
    rows = page.locator(f"{WIDGET} .row.bot").count()
    last_bot(page).locator(".btn").last.click()  # 「この中にない」
    wait_bot_reply(page, rows)
    ask(page, "火星への移住の補助制度はありますか")
    card = page.locator(f"{WIDGET} .card.contact").last
    tel = card.locator("a[href^='tel:']").first
    assert tel.get_attribute("href").startswith("tel:0")
    screenshot(page, "desktop-contact")
    violations = run_axe(page)
    assert violations == [], json.dumps(violations, ensure_ascii=False, indent=1)


HOSTILE_ANSWER = """回答の本文です。<script>window.__pwned = 'script'</script>

<img src=x onerror="window.__pwned = 'onerror'; alert('onerror')">

[危ないリンク](javascript:window.__pwned='link') と <a href="javascript:alert(1)">生のリンク</a>

![画像](x" onerror="alert(1))

<iframe src="javascript:alert(2)"></iframe><svg onload=alert(3)></svg>

- 安全な[市のページ](https://www.city.test.example.jp/safe)
"""


@pytest.fixture
def hostile_store(bot_stack, tmp_path: Path):
    """A copy of the bot's store with one entry whose answer carries hostile HTML, served by the
    real action server for this test only."""
    original = bot_stack.database_url
    target = tmp_path / "hostile.db"
    shutil.copyfile(original.removeprefix("sqlite:///"), target)
    url = f"sqlite:///{target}"
    with session_scope(url) as session:
        save_entry(
            session,
            external_id="T-0666",
            fields={
                "department": "市民課",
                "question": "ハザードマップを入手したい",
                "alternate_questions": ["ハザードマップはどこでもらえますか"],
                "keywords": ["ハザードマップ"],
                "answer": HOSTILE_ANSWER,
                "status": "published",
            },
            actor="test",
        )
    bot_stack.start_actions(database_url=url)
    try:
        yield url
    finally:
        bot_stack.start_actions(database_url=original)
        get_engine(url).dispose()


def test_hostile_qa_content_renders_inert(
    bot_stack, hostile_store, web_server_factory, host_site, new_context
):
    server = web_server_factory(
        hostile_store,
        MADOGUCHI_BOT__RASA_URL=bot_stack.rasa_url,
        MADOGUCHI_WEB__CORS_ORIGINS=json.dumps([host_site.url]),
    )
    # The host page has no CSP: only the server's and the widget's sanitisers stand in the way.
    url = host_site.page("hostile-answer.html", host_html(server.url))
    page = new_context().new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    open_widget(page, url)
    ask(page, "ハザードマップを入手したい")
    answer = last_answer(page)
    answer.wait_for()
    assert "回答の本文です。" in answer.inner_text()
    # The raw HTML arrived (the server shows it as text) and stays text.
    assert "<script>" in answer.inner_text()
    page.wait_for_timeout(800)
    assert page.evaluate("window.__pwned") is None
    assert dialogs == []
    found = page.evaluate(
        f"""() => {{
            const all = [...{SHADOW}.querySelectorAll('.answer *')];
            return {{
                tags: [...new Set(all.map((el) => el.localName))],
                attrs: all.flatMap((el) => [...el.attributes].map((a) => a.name + '=' + a.value)),
            }};
        }}"""
    )
    assert not {"script", "iframe", "svg", "object", "embed"} & set(found["tags"])
    assert not [a for a in found["attrs"] if a.startswith("on") or "javascript:" in a.lower()]
    safe = answer.locator("a[href='https://www.city.test.example.jp/safe']")
    assert safe.get_attribute("rel") == "noopener noreferrer"


class Relay:
    """A TCP relay in front of Rasa that can be switched off and on: Rasa "goes away"."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self.listener: socket.socket | None = None
        self.connections: list[socket.socket] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        if self.listener is not None:
            # shutdown() wakes the thread blocked in accept(); close() alone would not.
            with contextlib.suppress(OSError):
                self.listener.shutdown(socket.SHUT_RDWR)
            self.listener.close()
            self.listener = None
        for connection in self.connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()
        self.connections.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            self.connections += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)


def test_rasa_and_action_server_down_then_recovery(bot_stack, web_server_factory, new_context):
    relay = Relay(int(bot_stack.rasa_url.rsplit(":", 1)[1]))
    relay.start()
    server = web_server_factory(
        bot_stack.database_url,
        MADOGUCHI_BOT__RASA_URL=relay.url,
        MADOGUCHI_BOT__ACTION_SERVER_URL=bot_stack.action_url,
    )
    try:
        assert httpx.get(server.url + "/healthz").json()["status"] == "ok"
        page = new_context().new_page()
        open_widget(page, server.url + "/")
        ask(page, "印鑑登録をしたい")
        assert last_bot(page).locator(".answer").count() == 1

        # Rasa goes away: the widget retries, then says so politely and offers to resend.
        relay.stop()
        health = httpx.get(server.url + "/healthz")
        assert health.status_code == 503 and health.json()["rasa"]["ok"] is False
        ask(page, "児童手当を申請したい")
        error = last_bot(page).locator(".err")
        assert "ただいまシステムに接続できません" in error.inner_text()
        screenshot(page, "desktop-rasa-down")

        # Rasa is back: "send again" gets the answer to the same question.
        relay.start()
        rows = page.locator(f"{WIDGET} .row.bot").count()
        last_bot(page).locator(".btn", has_text="もう一度送る").click()
        wait_bot_reply(page, rows)
        assert "15日以内" in last_answer(page).inner_text()
        assert page.locator(f"{WIDGET} .row.user").count() == 2  # not repeated
        ask(page, "保育園の入園を申し込みたい")
        assert last_bot(page).locator(".answer").count() == 1

        # The action server goes away: Rasa's own fallback (with the general contact) shows.
        bot_stack.stop_actions()
        try:
            health = httpx.get(server.url + "/healthz").json()
            assert health["action_server"]["ok"] is False and health["rasa"]["ok"] is True
            ask(page, "印鑑登録をしたい")
            reply = last_bot(page)
            assert reply.locator(".answer").count() == 0
            assert reply.locator(".card.contact a[href^='tel:']").count() == 1
        finally:
            bot_stack.start_actions()
        ask(page, "印鑑登録をしたい")
        assert "印鑑" in last_answer(page).inner_text()
        assert httpx.get(server.url + "/healthz").status_code == 200
    finally:
        relay.stop()
