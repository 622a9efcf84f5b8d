"""「最初から」: the trained ``restart`` intent runs Rasa's own ``action_restart``, which sends
``utter_restart`` and clears the conversation (through the REST webhook of the real servers)."""

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


@pytest.mark.parametrize("message", ["最初からやり直したい", "/restart"])
def test_restart_replies_politely_and_forgets_the_conversation(
    bot_stack: BotStack, message: str
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
