"""A performance fix for Rasa 3.6, applied inside the Rasa process.

Rasa 3.6's ``RemoteAction._validate_action_result`` calls ``jsonschema.validate`` for every
custom-action response. That function re-checks the (large) events schema and builds a new
validator on every call: about 60 ms of CPU per action call on our machines, which was most of
the bot's latency and capped its throughput at about 10 messages per second on 2 cores. The
patched method validates against the same schema with one validator built once (about 9 ms),
and raises the same ``ValidationError`` with the same message on an invalid response.

Imported (and installed) by ``bot/rasa_policy.py``, which Rasa loads with the model. Standard
library, jsonschema and rasa only (Python 3.10).
"""

from __future__ import annotations

from typing import Any


def install() -> None:
    from jsonschema import ValidationError
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.constants import DOCS_BASE_URL

    if getattr(RemoteAction, "_madoguchi_cached_validator", False):
        return
    schema = RemoteAction.action_response_format_spec()
    validator_class = validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema)

    def _validate_action_result(self: Any, result: dict[str, Any]) -> bool:
        try:
            validator.validate(result)
            return True
        except ValidationError as e:
            e.message += (
                f". Failed to validate Action server response from API, "
                f"make sure your response from the Action endpoint is valid. "
                f"For more information about the format visit "
                f"{DOCS_BASE_URL}/custom-actions"
            )
            raise e

    RemoteAction._validate_action_result = _validate_action_result
    RemoteAction._madoguchi_cached_validator = True
