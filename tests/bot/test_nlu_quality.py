"""`rasa test nlu` on held-out examples; the command always exits 0, so read its report."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from bot.training import service_env
from tests.servers import REPO_ROOT, ensure_rasa_python

HOLDOUT = REPO_ROOT / "tests" / "bot" / "data" / "nlu_holdout.yml"
MIN_WEIGHTED_F1 = 0.9


def weighted_f1(report_file: Path) -> float:
    report = json.loads(report_file.read_text(encoding="utf-8"))
    return float(report["weighted avg"]["f1-score"])


@pytest.mark.servers
def test_intent_f1_on_holdout(bot_model: Path, tmp_path: Path) -> None:
    python = ensure_rasa_python()
    result = subprocess.run(
        [str(python), "-m", "rasa", "test", "nlu", "--model", str(bot_model),
         "--nlu", str(HOLDOUT), "--out", str(tmp_path)],
        capture_output=True, text=True, cwd=REPO_ROOT, env=service_env(), timeout=600,
        check=False,
    )  # fmt: skip
    report = tmp_path / "intent_report.json"
    assert report.exists(), (result.stdout + result.stderr)[-3000:]
    f1 = weighted_f1(report)
    errors = tmp_path / "intent_errors.json"
    detail = errors.read_text(encoding="utf-8")[:3000] if errors.exists() else ""
    assert f1 >= MIN_WEIGHTED_F1, f"weighted F1 {f1:.3f} < {MIN_WEIGHTED_F1}\n{detail}"
