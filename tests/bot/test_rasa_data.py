"""The Rasa project data: validation is clean, every intent has enough natural examples."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from bot.training import DATA_DIR, DOMAIN_FILE, ENDPOINTS_FILE, rasa_config_file, service_env
from tests.servers import REPO_ROOT, ensure_rasa_python

DIALOGUE_INTENTS = {
    "greet", "goodbye", "thanks", "affirm", "deny", "human_handoff", "restart",
    "bot_challenge", "out_of_scope", "ask_garbage", "ask_faq", "menu", "none_of_these",
    "feedback",
}  # fmt: skip


def _examples() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in sorted(DATA_DIR.glob("*.yml")):
        for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu", []):
            lines = [line[2:] for line in block["examples"].splitlines() if line.startswith("- ")]
            found.setdefault(block["intent"], []).extend(lines)
    return found


def test_every_dialogue_intent_has_at_least_15_examples() -> None:
    examples = _examples()
    for intent in DIALOGUE_INTENTS:
        assert len(set(examples.get(intent, []))) >= 15, intent


def test_domain_intents_all_have_examples() -> None:
    domain = yaml.safe_load(DOMAIN_FILE.read_text(encoding="utf-8"))
    assert set(domain["intents"]) <= set(_examples())


def test_holdout_file_does_not_overlap_training() -> None:
    holdout = REPO_ROOT / "tests" / "bot" / "data" / "nlu_holdout.yml"
    training = {text for texts in _examples().values() for text in texts}
    for block in yaml.safe_load(holdout.read_text(encoding="utf-8"))["nlu"]:
        for line in block["examples"].splitlines():
            if line.startswith("- "):
                assert line[2:] not in training, line


def test_rasa_data_validate_fail_on_warnings(tmp_path: Path) -> None:
    python = ensure_rasa_python()
    result = subprocess.run(
        [str(python), "-m", "rasa", "data", "validate", "--fail-on-warnings",
         "--domain", str(DOMAIN_FILE), "--data", str(DATA_DIR),
         "--config", str(rasa_config_file(tmp_path))],
        capture_output=True, text=True, cwd=REPO_ROOT, env=service_env(), timeout=300,
        check=False,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    # `--fail-on-warnings` does not fail on every warning (unused responses, for one): check.
    warnings = [line for line in output.splitlines() if "UserWarning" in line]
    assert not warnings, "\n".join(warnings)


def test_tracker_store_keeps_raw_text_in_memory_only() -> None:
    endpoints = yaml.safe_load(ENDPOINTS_FILE.read_text(encoding="utf-8")) or {}
    assert "tracker_store" not in endpoints
    assert "event_broker" not in endpoints
