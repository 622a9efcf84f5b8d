"""Performance fixes for Rasa 3.6, applied inside the Rasa process.

Each one keeps Rasa's behaviour and results; only the work per message shrinks. Measured with
``tests/bench/bench_bot.py`` (20 residents at once, py-spy on the Rasa process):

- Action responses: ``RemoteAction._validate_action_result`` calls ``jsonschema.validate`` for
  every custom-action response, which re-checks the (large) schema and builds a new validator on
  every call (about 60 ms of CPU per call). We build the validators once. The schema checks each
  event against a ``oneOf`` of 23 event kinds, one per ``event`` name; a valid response is
  recognised by checking each event against the one kind its name selects (same verdict, about
  a fifth of the work). Anything else goes through the full validator, which raises the same
  ``ValidationError`` (the best match, with the same message) as Rasa's own call.
- Event types: ``Event.resolve_by_type`` walks every ``Event`` subclass (and asks ``inspect``
  whether each is abstract) for every event it reads back. Rasa reads the whole conversation
  back from the in-memory tracker store at each message, so this was a fifth of Rasa's CPU time
  in long conversations. The lookup is now remembered per event name.

Imported (and installed) by ``bot/rasa_policy.py``, which Rasa loads with the model. Standard
library, jsonschema and rasa only (Python 3.10).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any


def install() -> None:
    _install_action_result_validation()
    _install_event_type_cache()


def _install_action_result_validation() -> None:
    from jsonschema.exceptions import best_match
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.constants import DOCS_BASE_URL

    if getattr(RemoteAction, "_madoguchi_cached_validator", False):
        return
    schema = RemoteAction.action_response_format_spec()
    validator_class = validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema)
    is_valid = _fast_is_valid(schema, validator_class) or validator.is_valid

    def _validate_action_result(self: Any, result: dict[str, Any]) -> bool:
        if is_valid(result):
            return True
        # The error jsonschema.validate (Rasa's call) would raise: the best match, not the first.
        error = best_match(validator.iter_errors(result))
        if error is None:
            return True
        error.message += (
            f". Failed to validate Action server response from API, "
            f"make sure your response from the Action endpoint is valid. "
            f"For more information about the format visit "
            f"{DOCS_BASE_URL}/custom-actions"
        )
        raise error

    RemoteAction._validate_action_result = _validate_action_result
    RemoteAction._madoguchi_cached_validator = True


def _fast_is_valid(schema: dict[str, Any], validator_class: Any) -> Callable[[Any], bool] | None:
    """The schema's verdict, checking each event against the one kind its ``event`` selects.

    Equivalent because every ``oneOf`` branch pins ``event`` to its own constant and uses only
    ``properties``/``required``: for an object with a string ``event`` (which the rest of the item
    schema requires), every other branch fails, so ``oneOf`` holds exactly when the branch named
    by ``event`` holds. None when the schema does not have that shape (a future Rasa): then the
    full validator is used.
    """
    try:
        events = schema["properties"]["events"]
        branches = events["items"]["oneOf"]
        by_name = {branch["properties"]["event"]["const"]: branch for branch in branches}
    except (KeyError, TypeError):
        return None
    if (
        "$ref" in json.dumps(schema)
        or len(by_name) != len(branches)
        or not all(isinstance(name, str) for name in by_name)
        or any(set(branch) - {"properties", "required"} for branch in branches)
        or events["items"].get("required") != ["event"]
        or events["items"].get("properties", {}).get("event") != {"type": "string"}
    ):
        return None
    item = {key: value for key, value in events["items"].items() if key != "oneOf"}
    outer = validator_class(
        {**schema, "properties": {**schema["properties"], "events": {**events, "items": item}}}
    )
    event_validators = {name: validator_class(branch) for name, branch in by_name.items()}

    def is_valid(result: Any) -> bool:
        if not outer.is_valid(result):
            return False
        for event in result.get("events") or []:
            event_validator = event_validators.get(event["event"])
            if event_validator is None or not event_validator.is_valid(event):
                return False
        return True

    return is_valid


def _install_event_type_cache() -> None:
    from rasa.shared.core.events import Event
    from rasa.shared.utils.common import all_subclasses

    if getattr(Event, "_madoguchi_cached_types", False):
        return
    original = Event.resolve_by_type
    known: dict[str, type[Event]] = {}

    def resolve_by_type(type_name: str, default: type[Event] | None = None) -> Any:
        found = known.get(type_name)
        if found is None:
            found = next((c for c in all_subclasses(Event) if c.type_name == type_name), None)
            if found is None:  # unknown names keep Rasa's handling (default, or an error)
                return original(type_name, default)
            known[type_name] = found
        return found

    Event.resolve_by_type = staticmethod(resolve_by_type)
    Event._madoguchi_cached_types = True
