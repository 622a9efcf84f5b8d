"""socket.io: custom payloads (answers, contacts) are sent the way the REST channel sends them.

Rasa 3.6's ``SocketIOOutput.send_custom_json`` passes the payload's keys to ``AsyncServer.emit`` as
keyword arguments, so every custom payload of ours (``{"type": "answer", ...}``) raised
``TypeError`` and the rest of that turn was never sent: over socket.io, a FAQ answer produced no
``bot_uttered`` at all. The patched method emits ``{"custom": payload}`` on the bot message event
to the resident's room: the same shape as a REST reply's ``custom``.

Installed by ``bot/rasa_policy.py``, which Rasa imports when it loads the model. Standard library
and rasa only (Python 3.10).
"""

from __future__ import annotations

from typing import Any


def install() -> None:
    from rasa.core.channels.socketio import SocketIOOutput

    async def send_custom_json(
        self: SocketIOOutput, recipient_id: str, json_message: dict[str, Any], **kwargs: Any
    ) -> None:
        await self._send_message(recipient_id, {"custom": json_message})

    SocketIOOutput.send_custom_json = send_custom_json
