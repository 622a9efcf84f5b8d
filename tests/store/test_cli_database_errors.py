"""The ``madoguchi`` command explains a database it cannot use, in Japanese, with no traceback."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.conftest import REPO_ROOT
from tests.servers import free_port

MADOGUCHI = REPO_ROOT / ".venv" / "bin" / "madoguchi"


def run(url: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MADOGUCHI_DATABASE_URL": url}
    return subprocess.run(
        [str(MADOGUCHI), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_a_database_without_tables_asks_for_db_upgrade(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    result = run(url, "export", str(tmp_path / "qa.xlsx"), cwd=tmp_path)
    assert result.returncode == 1
    assert "データベースのテーブルがありません" in result.stderr
    assert "madoguchi db upgrade" in result.stderr
    assert "Traceback" not in result.stderr

    assert run(url, "db", "upgrade", cwd=tmp_path).returncode == 0
    assert run(url, "export", str(tmp_path / "qa.xlsx"), cwd=tmp_path).returncode == 0


def test_an_unreachable_database_is_named_without_its_password(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://staff:secret-pw@127.0.0.1:{free_port()}/madoguchi"
    result = run(url, "export", str(tmp_path / "qa.xlsx"), cwd=tmp_path)
    assert result.returncode == 1
    assert "データベースに接続できません" in result.stderr
    assert "127.0.0.1" in result.stderr
    assert "secret-pw" not in result.stderr
    assert "Traceback" not in result.stderr


def test_db_upgrade_creates_the_folder_of_a_new_sqlite_database(tmp_path: Path) -> None:
    """A fresh checkout has no data/ folder; SQLite would refuse to open the file."""
    database = tmp_path / "data" / "madoguchi.db"
    result = run(f"sqlite:///{database}", "db", "upgrade", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert database.stat().st_size > 0
