"""``madoguchi search`` and ``madoguchi eval`` through the real command line app."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from nlu_fixture_qa import FIXTURE_QA
from nlu_helpers import add_entries
from typer.testing import CliRunner

from nlu.cli import register
from qa_data.models import QAStatus


@pytest.fixture
def app(use_sqlite: str) -> typer.Typer:
    add_entries(use_sqlite, FIXTURE_QA)
    add_entries(use_sqlite, [("DR-1", "空き家バンクに登録したい", [], [], "住まい",
                              "住宅課へ。")], status=QAStatus.DRAFT)  # fmt: skip
    app = typer.Typer()
    register(app)

    @app.command("noop")
    def noop() -> None:  # keeps Typer in multi-command mode
        pass

    return app


def test_search_json(app: typer.Typer) -> None:
    result = CliRunner().invoke(app, ["search", "じゅうみんひょう", "--json", "--top-k", "2"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["query"] == "じゅうみんひょう"
    assert data["decision"] in ("answer", "candidates", "no_match")
    assert len(data["hits"]) <= 2
    assert data["hits"][0]["id"] == "MD-T03"
    assert set(data["hits"][0]) == {"id", "question", "score"}


def test_search_human_and_drafts(app: typer.Typer) -> None:
    runner = CliRunner()
    plain = runner.invoke(app, ["search", "空き家バンク"])
    assert plain.exit_code == 0
    assert "DR-1" not in plain.output
    drafts = runner.invoke(app, ["search", "空き家バンク", "--include-drafts"])
    assert "[DR-1]" in drafts.output
    assert "判定" in drafts.output


def test_search_batch_keeps_order(app: typer.Typer, tmp_path: Path) -> None:
    queries = ["住民票がほしい", "今日の天気は？", "", "保育所に入りたい"]
    path = tmp_path / "q.txt"
    path.write_text("\n".join(queries) + "\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["search", "--batch", str(path), "--json"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert [line["query"] for line in lines] == queries
    assert lines[0]["hits"][0]["id"] == "MD-T03"
    assert lines[1]["decision"] == "no_match"
    assert lines[2] == {"query": "", "decision": "no_match", "hits": []}
    assert lines[3]["hits"][0]["id"] == "MD-T07"


def test_search_usage_errors(app: typer.Typer, tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["search"]).exit_code == 2
    assert runner.invoke(app, ["search", "x", "--batch", str(tmp_path / "q.txt")]).exit_code == 2
    assert runner.invoke(app, ["search", "--batch", str(tmp_path / "none.txt")]).exit_code == 2


def test_eval(app: typer.Typer, tmp_path: Path) -> None:
    path = tmp_path / "dev.csv"
    path.write_text(
        "query,expected_ids\n"
        "住民票がほしい,MD-T03\n"
        "保育所に入りたい,MD-T07|MD-T08\n"
        "図書館の本の返却はどうすればいい？,MD-T14\n"
        "ごみ,MD-T16\n"
        "今日の天気は？,\n",
        encoding="utf-8",
    )
    runner = CliRunner()
    result = runner.invoke(app, ["eval", str(path), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["queries"] == 5 and report["in_scope"] == 4 and report["out_of_scope"] == 1
    assert report["hit_at_1"] == pytest.approx(0.75)  # ごみ ranks the collection entries first
    assert report["hit_at_5"] == 1.0
    assert 0.75 < report["mrr_at_10"] < 1.0
    assert report["out_of_scope_no_match"] == 1.0
    assert report["answer_precision"] == 1.0
    assert report["latency_ms_p95"] >= report["latency_ms_p50"] > 0
    human = runner.invoke(app, ["eval", str(path)])
    assert "Hit@1: 0.750" in human.output and "MRR@10" in human.output and "p95" in human.output
    bad = tmp_path / "bad.csv"
    bad.write_text("text,ids\nfoo,bar\n", encoding="utf-8")
    assert runner.invoke(app, ["eval", str(bad)]).exit_code == 1
