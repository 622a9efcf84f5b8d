"""Settings come from config.yml's madoguchi key; MADOGUCHI_* environment variables win."""

from pathlib import Path

import pytest

from qa_data.settings import PROJECT_ROOT, Settings, get_settings, read_config_section


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "config.yml"
    path.write_text(
        "recipe: default.v1\n"
        "pipeline: []\n"
        "madoguchi:\n"
        "  database_url: sqlite:///from-file.db\n"
        "  retrieval:\n"
        "    top_k: 7\n"
        "    query_prefix: '検索クエリ: '\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("MADOGUCHI_CONFIG", str(path))
    for name in ("MADOGUCHI_DATABASE_URL", "MADOGUCHI_RETRIEVAL__TOP_K"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield path
    get_settings.cache_clear()


def test_file_values_are_read_from_the_madoguchi_key(config_file: Path) -> None:
    settings = get_settings()
    assert settings.retrieval.top_k == 7
    assert settings.retrieval.query_prefix == "検索クエリ: "
    assert settings.database_url == "sqlite:///from-file.db"


def test_environment_overrides_file(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MADOGUCHI_DATABASE_URL", "postgresql+psycopg://u@h/db")
    monkeypatch.setenv("MADOGUCHI_RETRIEVAL__TOP_K", "3")
    settings = get_settings()
    assert settings.database_url == "postgresql+psycopg://u@h/db"
    assert settings.retrieval.top_k == 3
    assert settings.retrieval.query_prefix == "検索クエリ: "


def test_relative_sqlite_path_is_anchored_at_the_project_root() -> None:
    settings = Settings(database_url="sqlite:///data/x.db")
    assert settings.resolved_database_url == f"sqlite:///{PROJECT_ROOT / 'data' / 'x.db'}"
    absolute = Settings(database_url="sqlite:////var/lib/madoguchi.db")
    assert absolute.resolved_database_url == "sqlite:////var/lib/madoguchi.db"


def test_repository_config_is_valid() -> None:
    section = read_config_section(PROJECT_ROOT / "config.yml")
    assert Settings(**section).ports.web == 8080
