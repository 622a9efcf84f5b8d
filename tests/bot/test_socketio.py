"""The socket.io channel of the real Rasa, as `make run` starts it (bot/credentials.yml:
``user_uttered`` / ``bot_uttered``, ``session_persistence: true``), with a real python-socketio
client. Buttons arrive as ``quick_replies``; custom payloads as ``{"custom": {...}}``."""

from __future__ import annotations

import queue
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import socketio
from sqlalchemy import select

from qa_data.chat_log import hash_session_id
from qa_data.db import session_scope
from qa_data.models import QueryLog
from tests.servers import TEST_QA, BotStack

pytestmark = pytest.mark.servers

REPLY_TIMEOUT = 60.0
Messages = list[dict[str, Any]]


class SocketChat:
    """One socket.io connection that has asked Rasa for a session (``session_request``)."""

    def __init__(self, rasa_url: str, session_id: str) -> None:
        self.session_id = session_id
        self._replies: queue.Queue[dict[str, Any]] = queue.Queue()
        self._confirmations: queue.Queue[str] = queue.Queue()
        self.client = socketio.Client(reconnection=False)
        self.client.on("bot_uttered", self._replies.put)
        self.client.on("session_confirm", self._confirmations.put)
        self.client.connect(rasa_url, socketio_path="/socket.io", wait_timeout=30)
        self.client.emit("session_request", {"session_id": session_id})
        self.confirmed = self._confirmations.get(timeout=REPLY_TIMEOUT)

    def say(self, text: str, done: Callable[[Messages], bool]) -> Messages:
        """Send ``text``; collect ``bot_uttered`` messages until ``done`` holds (or time runs out).

        socket.io has no end-of-reply marker, so ``done`` names the last message expected.
        """
        self.client.emit("user_uttered", {"message": text, "session_id": self.session_id})
        messages: Messages = []
        deadline = time.monotonic() + REPLY_TIMEOUT
        while not done(messages) and time.monotonic() < deadline:
            try:
                messages.append(self._replies.get(timeout=0.2))
            except queue.Empty:
                continue
        return messages

    def close(self) -> None:
        self.client.disconnect()


@pytest.fixture
def session_id() -> str:
    return f"socketio-{uuid.uuid4().hex}"


@pytest.fixture
def chat(bot_stack: BotStack, session_id: str) -> Iterator[SocketChat]:
    connection = SocketChat(bot_stack.rasa_url, session_id)
    try:
        yield connection
    finally:
        connection.close()


def has_quick_replies(messages: Messages) -> bool:
    return any(m.get("quick_replies") for m in messages)


def customs(messages: Messages, kind: str) -> list[dict[str, Any]]:
    return [m["custom"] for m in messages if (m.get("custom") or {}).get("type") == kind]


def test_session_is_confirmed_with_the_requested_id(chat: SocketChat, session_id: str) -> None:
    assert chat.confirmed == session_id


def test_greeting_with_a_quick_reply(chat: SocketChat) -> None:
    messages = chat.say("こんにちは", has_quick_replies)
    [greeting] = messages
    assert greeting["text"].startswith("こんにちは。")
    assert greeting["quick_replies"] == [
        {"content_type": "text", "title": "メニューから探す", "payload": "/menu"}
    ]


def test_faq_answer_and_feedback_quick_replies(
    chat: SocketChat, bot_stack: BotStack, session_id: str
) -> None:
    external_id, question, answer = TEST_QA[0][0], TEST_QA[0][4], TEST_QA[0][6]
    messages = chat.say(question, has_quick_replies)
    [payload] = customs(messages, "answer")
    assert (payload["qa_id"], payload["question"]) == (external_id, question)
    first_line = answer.split("\n", 1)[0]
    assert first_line in payload["html"]
    feedback = messages[-1]
    assert feedback["text"] == "この回答で解決しましたか？"
    assert [(q["title"], q["payload"]) for q in feedback["quick_replies"]] == [
        ("解決した", f'/feedback{{"helpful":true,"qa_id":"{external_id}"}}'),
        ("解決しない", f'/feedback{{"helpful":false,"qa_id":"{external_id}"}}'),
    ]
    with session_scope(bot_stack.database_url) as session:
        row = session.scalars(
            select(QueryLog).where(QueryLog.session_id == hash_session_id(session_id))
        ).one()
        assert (row.channel, row.decision, row.qa_shown) == ("socketio", "answer", external_id)


def test_session_persists_across_reconnections(bot_stack: BotStack, session_id: str) -> None:
    first = SocketChat(bot_stack.rasa_url, session_id)
    try:
        messages = first.say("保育園の入園を申し込みたい", has_quick_replies)
        assert customs(messages, "answer")[0]["qa_id"] == "T-0005"
    finally:
        first.close()
    again = SocketChat(bot_stack.rasa_url, session_id)
    try:
        # The department of the answer given before reconnecting, then the general contact.
        messages = again.say("担当の人と電話で話したい", lambda m: len(customs(m, "contact")) == 2)
    finally:
        again.close()
    assert [c["phone"] for c in customs(messages, "contact")] == ["012-345-6722", "0120-000-000"]
