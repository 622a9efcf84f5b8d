"""「最初から」: the trained ``restart`` intent runs Rasa's built-in rule to ``action_restart``,
which our action server overrides: the message is logged (masked), ``utter_restart`` is sent and
the conversation is cleared (through the REST webhook of the real servers and the real store)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.servers import BotStack

pytestmark = pytest.mark.servers

RESTART_TEXT = "最初からやり直します。知りたいことを入力してください。"
GENERAL_PHONE = "0120-000-000"


def contact_phones(messages: list[dict[str, Any]]) -> list[str]:
    return [
        m["custom"]["phone"] for m in messages if (m.get("custom") or {}).get("type") == "contact"
    ]


@pytest.mark.parametrize(
    ("message", "stored"),
    [
        ("最初からやり直したい", "最初からやり直したい"),
        ("/restart", "/restart"),
        ("taro@example.jpです。最初からやり直したい", "[メールアドレス]です。最初からやり直したい"),
    ],
)
def test_restart_replies_politely_logs_and_forgets_the_conversation(
    bot_stack: BotStack, message: str, stored: str
) -> None:
    sender = bot_stack.new_sender()
    bot_stack.chat(sender, "保育園の入園を申し込みたい")
    # Before the restart, the bot remembers which department answered.
    handoff = bot_stack.chat(sender, "担当の人と電話で話したい")
    assert contact_phones(handoff) == ["012-345-6722", GENERAL_PHONE]

    reply = bot_stack.chat(sender, message)
    assert [m.get("text") for m in reply] == [RESTART_TEXT]

    handoff = bot_stack.chat(sender, "担当の人と電話で話したい")
    assert contact_phones(handoff) == [GENERAL_PHONE]

    # One row per message, the restart's among them, masked like every other message.
    rows = bot_stack.query_logs(sender)
    assert len(rows) == 4
    restart = rows[2]
    assert (restart.intent, restart.kind, restart.decision) == ("restart", "dialogue", "dialogue")
    assert restart.text == stored
    assert "taro@example.jp" not in restart.text


def test_restart_without_action_server_apologises(bot_stack: BotStack) -> None:
    """action_restart now runs in the action server: when it is down, the resident gets the
    technical apology from Rasa itself (bot.rasa_policy.ActionFailurePolicy), never silence."""
    sender = bot_stack.new_sender()
    bot_stack.stop_actions()
    try:
        reply = bot_stack.chat(sender, "最初からやり直したい")
        texts = "\n".join(m.get("text") or "" for m in reply)
        assert "システムに不具合" in texts and GENERAL_PHONE in texts
        assert contact_phones(reply) == [GENERAL_PHONE]
    finally:
        bot_stack.start_actions()
    assert [m.get("text") for m in bot_stack.chat(sender, "/restart")] == [RESTART_TEXT]
