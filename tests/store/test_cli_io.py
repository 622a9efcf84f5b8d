"""The real ``madoguchi`` entry point: exit codes 0 / 1 / 2, messages, the demo chain."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, TSU_GARBAGE_CSV
from tests.store.helpers import HEADER, entries, fingerprint, qa_row, write_csv

MADOGUCHI = REPO_ROOT / ".venv" / "bin" / "madoguchi"


def run(url: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MADOGUCHI_DATABASE_URL": url}
    return subprocess.run(
        [str(MADOGUCHI), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_import_export_exit_codes(store_url: str, tmp_path: Path) -> None:
    good = write_csv(tmp_path / "good.csv", [HEADER, qa_row("MD-1"), qa_row("")])
    bad = write_csv(tmp_path / "bad.csv", [HEADER, qa_row("MD-2"), qa_row("", answer="")])

    dry = run(store_url, "import", str(good), "--dry-run", cwd=tmp_path)
    assert dry.returncode == 0, dry.stderr
    assert "新規 2 件、変更 0 件、変更なし 0 件" in dry.stdout
    assert entries(store_url) == {}

    before = fingerprint(store_url)
    invalid = run(store_url, "import", str(bad), cwd=tmp_path)
    assert invalid.returncode == 1
    assert "3行目「回答」が空です" in invalid.stderr
    assert "何も書き込んでいません" in invalid.stderr
    assert fingerprint(store_url) == before

    done = run(store_url, "import", str(good), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "取り込みました: 新規 2 件" in done.stdout
    assert set(entries(store_url)) == {"MD-1", "QA-000001"}

    exported = run(
        store_url, "export", "out.dat", "--format", "csv", "--status", "公開", cwd=tmp_path
    )
    assert exported.returncode == 0, exported.stderr
    assert (tmp_path / "out.dat").read_bytes().startswith(b"\xef\xbb\xbf")
    again = run(store_url, "import", "out.dat", "--format", "csv", "--dry-run", cwd=tmp_path)
    assert again.returncode == 0 and "変更はありません" in again.stdout

    before = fingerprint(store_url)
    for args in (
        ["import", "faq.pdf"],  # format unknown from the extension
        ["export", "faq.txt2"],
        ["export", "x.csv", "--format", "ods"],
        ["import", str(good), "--no-such-option"],
        ["import"],
        ["export", "x.xlsx", "--encoding", "cp932"],
        ["garbage", "import", "g.json"],
    ):
        result = run(store_url, *args, cwd=tmp_path)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
    assert fingerprint(store_url) == before

    cp932 = write_csv(tmp_path / "emoji.csv", [HEADER, qa_row("E-1", question="ごみ🗑")])
    assert run(store_url, "import", str(cp932), cwd=tmp_path).returncode == 0
    lossy = run(store_url, "export", "sj.csv", "--encoding", "cp932", cwd=tmp_path)
    assert lossy.returncode == 1
    assert "E-1「質問」: 「🗑」(U+1F5D1) は文字コード cp932 では書き出せません" in lossy.stderr
    assert not (tmp_path / "sj.csv").exists()


def test_strict_department_and_help(store_url: str, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", [HEADER, qa_row("", department="観光課")])
    strict = run(store_url, "import", str(path), "--strict", cwd=tmp_path)
    assert strict.returncode == 1
    assert "2行目「部署」「観光課」は登録されていない部署です（--strict）" in strict.stderr
    lenient = run(store_url, "import", str(path), "--dry-run", cwd=tmp_path)
    assert "新しい部署を作成します: 「観光課」" in lenient.stdout
    helped = run(store_url, "import", "--help", cwd=tmp_path)
    assert helped.returncode == 0
    assert "--department" in helped.stdout and "--strict" in helped.stdout


def test_garbage_commands(store_url: str, tmp_path: Path) -> None:
    imported = run(store_url, "garbage", "import", str(TSU_GARBAGE_CSV), cwd=tmp_path)
    assert imported.returncode == 0, imported.stderr
    assert "新規 3,984 件" in imported.stdout
    exported = run(store_url, "garbage", "export", "g.xlsx", cwd=tmp_path)
    assert exported.returncode == 0 and "3,984 件" in exported.stdout
    replaced = run(store_url, "garbage", "import", "g.xlsx", "--replace", cwd=tmp_path)
    assert replaced.returncode == 0
    assert "新規 3,984 件" in replaced.stdout and "置き換えで削除 3,984 件" in replaced.stdout
    bad = write_csv(tmp_path / "bad.csv", [["品目", "分別区分"], ["電池", ""]])
    before = fingerprint(store_url)
    failed = run(store_url, "garbage", "import", str(bad), "--replace", cwd=tmp_path)
    assert failed.returncode == 1 and "2行目「分別区分」が空です" in failed.stderr
    assert fingerprint(store_url) == before


@pytest.mark.timeout(300)
def test_seed_demo_export_import_reports_no_changes(store_url: str, tmp_path: Path) -> None:
    seeded = run(store_url, "seed-demo", cwd=tmp_path)
    assert seeded.returncode == 0, seeded.stderr
    stored = entries(store_url)
    assert len(stored) >= 150
    assert len({e["category_major"] for e in stored.values()}) >= 12
    assert len({e["department"] for e in stored.values()}) >= 6

    exported = run(store_url, "export", "demo.xlsx", cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    dry = run(store_url, "import", "demo.xlsx", "--dry-run", cwd=tmp_path)
    assert dry.returncode == 0, dry.stderr
    assert f"新規 0 件、変更 0 件、変更なし {len(stored)} 件" in dry.stdout
    assert "変更はありません。" in dry.stdout

    before = fingerprint(store_url)
    refused = run(store_url, "seed-demo", cwd=tmp_path)
    assert refused.returncode == 1
    assert "--force" in refused.stderr
    assert fingerprint(store_url) == before
    forced = run(store_url, "seed-demo", "--force", cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr
    assert entries(store_url) == stored
