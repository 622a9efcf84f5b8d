"""A Rasa policy that makes sure the bot never stays silent when a custom action fails.

When the action server is down (or answers with an error), Rasa 3.6 logs "Encountered an exception
while running action ...", drops the action's events, and lets the policies carry on: our rules
would then predict ``action_listen`` and the resident would get no reply at all. This policy sees
that situation (the latest action is a custom action and no bot message was sent since the
resident's message) and predicts ``utter_technical_error`` — a fixed apology defined in
``bot/domain.yml`` and sent by Rasa itself. The general contact in that apology comes from
madoguchi's settings (``bot/general_contact.py``, read when the model is loaded): the prediction
sets the ``general_contact_*`` slots that the response's ``{placeholders}`` are filled from. After
that it predicts ``action_listen``. In every other situation it abstains (all-zero probabilities).

It runs inside the Rasa process (Python 3.10): standard library, PyYAML and rasa only.
"""

from __future__ import annotations

from typing import Any

from rasa.core.policies.policy import Policy, PolicyPrediction
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker

from bot.general_contact import general_contact
from bot.rasa_patches import install as _install_rasa_patches
from bot.rasa_socketio import install as _install_socketio_fix

ERROR_RESPONSE = "utter_technical_error"
CONTACT_SLOT_PREFIX = "general_contact_"

# Rasa imports this module with the model, before it handles any message.
_install_rasa_patches()
_install_socketio_fix()


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=True
)
class ActionFailurePolicy(Policy):
    """Predicts the fixed apology after a custom action that produced no reply."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"priority": 7, "error_response": ERROR_RESPONSE}

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        featurizer: Any | None = None,
    ) -> None:
        super().__init__(config, model_storage, resource, execution_context, featurizer)
        self._error_response = config.get("error_response") or ERROR_RESPONSE
        self._contact_slots = [
            SlotSet(CONTACT_SLOT_PREFIX + field, value)
            for field, value in general_contact().items()
        ]

    def train(
        self,
        training_trackers: list[TrackerWithCachedStates],
        domain: Domain,
        **kwargs: Any,
    ) -> Resource:
        # Nothing to learn; persist an empty resource so that loading works.
        with self._model_storage.write_to(self._resource):
            pass
        return self._resource

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        probabilities = self._default_predictions(domain)
        action = self._next_action(tracker, domain)
        if action is None or action not in domain.action_names_or_texts:
            return self._prediction(probabilities)
        probabilities[domain.index_for_action(action)] = 1.0
        # Applied only if this prediction wins, and before the response is filled in.
        slots = self._contact_slots if action == self._error_response else []
        return self._prediction(probabilities, optional_events=list(slots))

    def _next_action(self, tracker: DialogueStateTracker, domain: Domain) -> str | None:
        latest_action = None
        bot_spoke = False
        for event in reversed(tracker.events):
            if isinstance(event, UserUttered):
                break
            if isinstance(event, BotUttered):
                bot_spoke = True
            elif isinstance(event, ActionExecuted) and latest_action is None:
                latest_action = event.action_name
        else:
            return None  # no resident message yet
        if latest_action is None or latest_action == ACTION_LISTEN_NAME:
            return None
        if latest_action == self._error_response:
            return ACTION_LISTEN_NAME
        needs_reply = (
            latest_action in domain.user_actions or latest_action == "action_default_fallback"
        )
        if needs_reply and not bot_spoke:
            return self._error_response
        return None
