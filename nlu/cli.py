"""``madoguchi search`` and ``madoguchi eval``. Heavy imports stay inside the commands."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer


def _retriever():
    from nlu.retrieval import Retriever

    return Retriever.from_settings()


def _print_human(result) -> None:
    labels = {"answer": "回答", "candidates": "候補", "no_match": "該当なし"}
    typer.echo(f"判定: {labels.get(result.decision, result.decision)} ({result.decision})")
    if not result.hits:
        typer.echo("該当する質問はありません。")
    for rank, hit in enumerate(result.hits, 1):
        typer.echo(f"{rank}. [{hit.id}] {hit.question}  (score {hit.score:.3f})")


def search(
    text: Annotated[str | None, typer.Argument(help="検索する質問文")] = None,
    top_k: Annotated[
        int | None, typer.Option("--top-k", min=1, max=100, help="表示する件数")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON で出力します")] = False,
    include_drafts: Annotated[
        bool, typer.Option("--include-drafts", help="下書きも検索します")
    ] = False,
    batch: Annotated[
        Path | None,
        typer.Option(
            "--batch", help="1 行に 1 つの質問を書いたファイル（1 行に 1 つの JSON を出力）"
        ),
    ] = None,
) -> None:
    """FAQ を検索し、判定（回答・候補・該当なし）と上位の候補を表示します。"""
    if (text is None) == (batch is None):
        typer.echo("質問文か --batch ファイルのどちらか一方を指定してください。", err=True)
        raise typer.Exit(2)
    if batch is not None and not batch.is_file():
        typer.echo(f"ファイルが見つかりません: {batch}", err=True)
        raise typer.Exit(2)
    retriever = _retriever()
    if batch is not None:
        lines = batch.read_text(encoding="utf-8-sig").splitlines()
        for line in lines:
            result = retriever.search(line, top_k=top_k, include_drafts=include_drafts)
            if as_json:
                sys.stdout.write(json.dumps(result.to_dict(), ensure_ascii=False) + "\n")
            else:
                typer.echo(f"# {line}")
                _print_human(result)
        sys.stdout.flush()
        return
    result = retriever.search(text or "", top_k=top_k, include_drafts=include_drafts)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), ensure_ascii=False))
    else:
        _print_human(result)


def evaluate(
    file: Annotated[
        Path, typer.Argument(help="query,expected_ids の CSV（ID は | 区切り、空は対象外）")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="JSON で出力します")] = False,
    failures: Annotated[bool, typer.Option("--failures", help="外れた質問も表示します")] = False,
) -> None:
    """開発用評価セットで検索精度（Hit@k、MRR、回答の正解率、対象外の判定）を測ります。"""
    from nlu.retrieval.evaluate import evaluate as run_eval
    from nlu.retrieval.evaluate import format_report, read_cases

    if not file.is_file():
        typer.echo(f"ファイルが見つかりません: {file}", err=True)
        raise typer.Exit(2)
    try:
        cases = read_cases(file)
    except (ValueError, UnicodeDecodeError) as error:
        typer.echo(f"評価ファイルを読めません: {error}", err=True)
        raise typer.Exit(1) from error
    report = run_eval(_retriever(), cases)
    if as_json:
        typer.echo(json.dumps(report.to_dict(with_failures=failures), ensure_ascii=False))
        return
    typer.echo(format_report(report))
    if failures:
        for f in report.failures:
            typer.echo(json.dumps(f, ensure_ascii=False))


def register(app: typer.Typer) -> None:
    app.command("search")(search)
    app.command("eval")(evaluate)
