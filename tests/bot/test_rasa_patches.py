"""bot/rasa_patches.py inside the real Rasa venv: same verdicts, errors and event types as Rasa."""

from __future__ import annotations

import pytest

from tests.servers import run_in_rasa_venv

SCRIPT = r"""
import json, sys
import jsonschema
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.events import Event
from rasa.shared.utils.common import all_subclasses

original_resolve = Event.resolve_by_type
schema = RemoteAction.action_response_format_spec()

from bot.rasa_patches import install
install()

def rasa_error(response):
    try:
        jsonschema.validate(response, schema)
    except jsonschema.ValidationError as error:
        return error.message
    return None

def patched_error(response):
    try:
        assert RemoteAction._validate_action_result(None, response) is True
    except jsonschema.ValidationError as error:
        return error.message
    return None

def outcome(function, *args):
    try:
        found = function(*args)
    except ValueError as error:
        return "ValueError: " + str(error)
    return None if found is None else found.__name__

cases = json.loads(sys.stdin.read())
names = sorted({c.type_name for c in all_subclasses(Event)}) + ["topic", "no_such_event"]
print(json.dumps({
    "validation": [[rasa_error(case), patched_error(case)] for case in cases],
    "types": [[outcome(original_resolve, n), outcome(Event.resolve_by_type, n)] for n in names],
    "default": outcome(Event.resolve_by_type, "no_such_event", Event),
    "checked_names": len(names),
}))
"""

SLOT = {"event": "slot", "name": "last_query", "value": "住民票"}
ANSWER = {
    "text": None,
    "buttons": [{"title": "解決した", "payload": '/feedback{"helpful":true}'}],
    "custom": {"type": "answer", "qa_id": "T-0001", "html": "<p>窓口へ</p>"},
}
USER = {
    "event": "user",
    "text": "住民票",
    "parse_data": {"intent": {"name": "ask_faq", "confidence": 0.9}, "entities": []},
}
CASES = [
    # valid: what our actions send, and other event kinds
    {"events": [SLOT, {**SLOT, "value": None}, {**SLOT, "value": ["T-1"]}], "responses": [ANSWER]},
    {"events": [], "responses": []},
    {},
    {"events": [USER, {"event": "action", "name": "action_listen"}, {"event": "restart"}]},
    {"events": [{"event": "bot", "text": "こんにちは", "timestamp": 1.5, "metadata": None}]},
    {"events": [{"event": "followup", "name": "utter_greet"}, {"event": "session_started"}]},
    # invalid: each must fail with Rasa's own message
    {"events": [{"event": "slot", "name": "last_query"}]},
    {"events": [{"event": "no_such_event"}]},
    {"events": [{"name": "last_query", "value": 1}]},
    {"events": ["slot"]},
    {"events": [{"event": 3}]},
    {"events": {"event": "slot"}},
    {"events": None},
    {"events": [SLOT, {**USER, "parse_data": {"entities": [{"start": 0}]}}]},
    {"events": [{**SLOT, "timestamp": "yesterday"}]},
    {"events": [SLOT], "responses": ["text only"]},
    [],
]  # fmt: skip
VALID = 6


@pytest.fixture(scope="module")
def results() -> dict:
    return run_in_rasa_venv(SCRIPT, CASES)


def test_valid_action_responses_pass(results: dict) -> None:
    for index, (rasa_error, patched_error) in enumerate(results["validation"][:VALID]):
        assert rasa_error is None, (CASES[index], rasa_error)
        assert patched_error is None, (CASES[index], patched_error)


def test_invalid_action_responses_fail_with_rasas_message(results: dict) -> None:
    for index, (rasa_error, patched_error) in enumerate(results["validation"][VALID:], VALID):
        assert rasa_error is not None, CASES[index]
        assert patched_error is not None, CASES[index]
        assert patched_error.startswith(rasa_error + ". Failed to validate Action server"), (
            CASES[index],
            rasa_error,
            patched_error,
        )


def test_event_types_resolve_as_in_rasa(results: dict) -> None:
    assert results["checked_names"] > 20
    for original, patched in results["types"]:
        assert patched == original
    assert results["types"][-1][1].startswith("ValueError: Unknown event name")
    assert results["default"] == "Event"
