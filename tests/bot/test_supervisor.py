"""`madoguchi run` refuses busy ports clearly; the model fingerprint follows the training data."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot import training
from qa_data.cli import _register_all, app
from qa_data.settings import get_settings


@pytest.fixture
def busy_port() -> int:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    yield sock.getsockname()[1]
    sock.close()


def test_run_stops_on_a_port_in_use(
    busy_port: int, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    database = tmp_path / "untouched.db"
    monkeypatch.setenv("MADOGUCHI_DATABASE_URL", f"sqlite:///{database}")
    monkeypatch.setenv("MADOGUCHI_PORTS__RASA", str(busy_port))
    get_settings.cache_clear()
    try:
        _register_all()
        result = CliRunner().invoke(app, ["run"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1
    assert f"ポート {busy_port}（Rasa）はすでに使われています" in result.output
    assert "madoguchi.ports.rasa" in result.output
    assert not database.exists()  # nothing was started or written


def test_fingerprint_changes_with_training_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = training.training_fingerprint()
    assert before == training.training_fingerprint()
    data = tmp_path / "data"
    data.mkdir()
    for path in training.DATA_DIR.glob("*.yml"):
        (data / path.name).write_bytes(path.read_bytes())
    monkeypatch.setattr(training, "DATA_DIR", data)
    assert training.training_fingerprint() == training.training_fingerprint()
    (data / "extra.yml").write_text('version: "3.1"\n', encoding="utf-8")
    assert training.training_fingerprint() != before


def test_madoguchi_settings_do_not_change_the_fingerprint(tmp_path: Path) -> None:
    source = Path(training.REPO_ROOT / "config.yml").read_text(encoding="utf-8")
    changed = tmp_path / "config.yml"
    changed.write_text(source.replace("city_name: みどり市", "city_name: あおば市"), "utf-8")
    assert training.training_fingerprint(changed) == training.training_fingerprint()
