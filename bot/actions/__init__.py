"""rasa-sdk actions: ``python -m rasa_sdk --actions bot.actions`` (see actions.py)."""
