"""The apology Rasa sends by itself when the action server is down shows the configured general
contact: ``bot/general_contact.py`` (read in the Rasa process) agrees with ``qa_data.settings``,
and a real ``rasa run`` with another contact configured (file and ``MADOGUCHI_*``) sends it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from bot.general_contact import general_contact
from qa_data.settings import Settings, read_config_section
from tests.servers import REPO_ROOT, free_port, start_rasa

OTHER_CONTACT = {
    "name": "あおば市役所 代表窓口",
    "phone": "099-111-2222",
    "hours": "平日 9時～17時",
    "url": "https://www.city.aoba.example.jp/",
}
ENV_HOURS = "毎日 8時～20時（年末年始を除く）"


def write_config(directory: Path, contact: dict[str, Any] | None) -> Path:
    """config.yml of the repository with ``madoguchi.contact`` replaced (or removed)."""
    document = yaml.safe_load((REPO_ROOT / "config.yml").read_text(encoding="utf-8"))
    document["madoguchi"].pop("contact", None)
    if contact is not None:
        document["madoguchi"]["contact"] = contact
    path = directory / "config.yml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for key in list(os.environ):
        if key.upper().startswith("MADOGUCHI_CONTACT") or key == "MADOGUCHI_CONFIG":
            monkeypatch.delenv(key)
    return monkeypatch


@pytest.mark.parametrize(
    ("contact", "environment"),
    [
        pytest.param("repository", {}, id="repository-config"),
        pytest.param(OTHER_CONTACT, {}, id="file"),
        pytest.param(None, {}, id="no-contact-key-defaults"),
        pytest.param({"phone": "099-333-4444"}, {}, id="partial-file"),
        pytest.param(OTHER_CONTACT, {"MADOGUCHI_CONTACT__HOURS": ENV_HOURS}, id="env-field"),
        pytest.param(
            OTHER_CONTACT,
            {
                "MADOGUCHI_CONTACT": json.dumps({"name": "JSON窓口", "phone": "099-555-6666"}),
                "madoguchi_contact__phone": "099-777-8888",
            },
            id="env-json-then-field-lowercase",
        ),
    ],
)
def test_rasa_side_reading_agrees_with_the_app_settings(
    clean_environment: pytest.MonkeyPatch,
    tmp_path: Path,
    contact: Any,
    environment: dict[str, str],
) -> None:
    if contact != "repository":
        clean_environment.setenv("MADOGUCHI_CONFIG", str(write_config(tmp_path, contact)))
    for key, value in environment.items():
        clean_environment.setenv(key, value)
    expected = Settings(**read_config_section()).contact.model_dump()
    assert general_contact() == expected


@pytest.fixture
def rasa_with_other_contact(
    bot_model: Path, clean_environment: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[str]:
    """``rasa run`` with OTHER_CONTACT in its config file, the hours overridden by the
    environment, and an action endpoint where nothing listens (the action server is down)."""
    clean_environment.setenv("MADOGUCHI_CONFIG", str(write_config(tmp_path, OTHER_CONTACT)))
    clean_environment.setenv("MADOGUCHI_CONTACT__HOURS", ENV_HOURS)
    port = free_port()
    process = start_rasa(port, bot_model, f"http://127.0.0.1:{free_port()}", tmp_path / "rasa.log")
    clean_environment.undo()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@pytest.mark.servers
def test_apology_shows_the_configured_contact(rasa_with_other_contact: str) -> None:
    response = httpx.post(
        f"{rasa_with_other_contact}/webhooks/rest/webhook",
        json={"sender": "technical-error", "message": "印鑑登録をしたい"},
        timeout=60,
    )
    response.raise_for_status()
    reply = response.json()
    text = "\n".join(m.get("text", "") for m in reply)
    assert "システムに不具合" in text
    assert f"{OTHER_CONTACT['name']}（電話 {OTHER_CONTACT['phone']}、{ENV_HOURS}）" in text
    assert "0120-000-000" not in json.dumps(reply, ensure_ascii=False)
    [contact] = [m["custom"] for m in reply if (m.get("custom") or {}).get("type") == "contact"]
    assert contact == {
        "type": "contact",
        "name": OTHER_CONTACT["name"],
        "phone": OTHER_CONTACT["phone"],
        "hours": ENV_HOURS,
        "email": "",
        "url": OTHER_CONTACT["url"],
    }
