"""``madoguchi report``, ``madoguchi retune`` and ``madoguchi logs prune|export``.

Heavy imports (matplotlib, openpyxl, the retriever) stay inside the commands.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

logs_app = typer.Typer(
    help="問い合わせログの管理（保存期間による削除・出力）", no_args_is_help=True
)


def report(
    month: Annotated[str, typer.Option("--month", help="対象の月（YYYY-MM、日本時間）")],
    out: Annotated[
        Path | None, typer.Option("--out", help="出力先のフォルダ（既定: 現在のフォルダ）")
    ] = None,
    regression: Annotated[
        bool,
        typer.Option(
            "--regression/--no-regression", help="回帰セットで精度を測ります（既定: 測る）"
        ),
    ] = True,
    dev_set: Annotated[
        Path | None, typer.Option("--dev-set", help="開発用評価セットの CSV")
    ] = None,
) -> None:
    """月次レポート（Excel と HTML）を作成します。"""
    out = out or Path.cwd()
    from qa_data.db import session_scope
    from reports.monthly import build_report, write_report
    from reports.periods import Month

    try:
        target = Month.parse(month)
    except ValueError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from error
    with session_scope() as session:
        built = build_report(session, target, with_regression=regression, dev_set=dev_set)
        xlsx_path, html_path = write_report(built, out)
        _audit(session, "report", str(target), {"xlsx": xlsx_path.name, "html": html_path.name})
    s = built.stats
    typer.echo(f"{built.title} を作成しました。")
    typer.echo(f"  Excel: {xlsx_path}")
    typer.echo(f"  HTML : {html_path}")
    if not built.has_data:
        typer.echo("  この月の利用記録はありません（その旨を記載したレポートです）。")
        return
    rate = "－" if s.answer_rate is None else f"{s.answer_rate * 100:.1f}%"
    typer.echo(f"  質問数 {s.questions:,}・会話数 {s.conversations:,}・回答率 {rate}")
    if built.regression is not None and built.regression.hit_at_1 is not None:
        typer.echo(
            f"  回帰セット Hit@1 {built.regression.hit_at_1 * 100:.1f}%・"
            f"Hit@5 {(built.regression.hit_at_5 or 0) * 100:.1f}%"
        )


def retune(
    apply: Annotated[
        bool,
        typer.Option(
            "--apply/--dry-run", help="悪化しない場合に適用します（--dry-run は表示のみ）"
        ),
    ] = True,
    dev_set: Annotated[
        Path | None, typer.Option("--dev-set", help="開発用評価セットの CSV")
    ] = None,
) -> None:
    """回帰セットで判定しきい値と融合の重みを再調整します（悪化する値は適用しません）。"""
    from qa_data.db import database_url, session_scope
    from reports.regression import build_regression_set
    from reports.retune import format_result
    from reports.retune import retune as run_retune

    with session_scope() as session:
        items = build_regression_set(session, dev_set)
    if not items:
        typer.echo("回帰セットが空です（開発用評価セットも解決済みの質問もありません）。", err=True)
        raise typer.Exit(1)
    result = run_retune(session_scope, items, url=database_url(), apply=apply, actor="cli")
    typer.echo(format_result(result))


@logs_app.command("prune")
def logs_prune(
    days: Annotated[
        int | None,
        typer.Option("--days", min=1, help="保存日数（既定: 設定 logs.retention_days）"),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="削除せず件数だけ表示します")] = False,
) -> None:
    """保存期間を過ぎた問い合わせログとフィードバックを削除します。"""
    from qa_data.db import session_scope
    from qa_data.retention import prune_logs
    from reports.periods import utc_to_jst

    with session_scope() as session:
        result = prune_logs(session, days=days, dry_run=dry_run, actor="cli")
    counts = f"問い合わせログ {result.query_logs:,} 件・フィードバック {result.feedback:,} 件"
    cutoff = f"{utc_to_jst(result.cutoff):%Y-%m-%d %H:%M}（日本時間）より前"
    if dry_run:
        typer.echo(f"{cutoff}の削除対象: {counts}（ドライランのため削除していません）")
    else:
        typer.echo(f"{cutoff}の{counts}を削除しました。")


@logs_app.command("export")
def logs_export(
    start: Annotated[str, typer.Option("--from", help="開始日（YYYY-MM-DD、日本時間）")],
    end: Annotated[str, typer.Option("--to", help="終了日（YYYY-MM-DD、この日を含む）")],
    out: Annotated[Path, typer.Option("--out", help="出力ファイル（.csv または .xlsx）")],
    decision: Annotated[
        list[str] | None,
        typer.Option("--decision", help="判定で絞り込み（answer / candidates / no_match、複数可）"),
    ] = None,
    kind: Annotated[
        list[str] | None, typer.Option("--kind", help="種類で絞り込み（message など、複数可）")
    ] = None,
    text: Annotated[str, typer.Option("--text", help="質問文に含まれる語")] = "",
) -> None:
    """問い合わせログ（マスキング済みの文のみ）を CSV または Excel で出力します。"""
    from qa_data.db import session_scope
    from reports.logs_export import LogFilter, query_log_rows, rows_to_csv, rows_to_xlsx
    from reports.periods import day_bounds

    try:
        first, last = date.fromisoformat(start), date.fromisoformat(end)
    except ValueError as error:
        typer.echo("日付は YYYY-MM-DD の形式で指定してください。", err=True)
        raise typer.Exit(2) from error
    if last < first:
        typer.echo("終了日は開始日以降にしてください。", err=True)
        raise typer.Exit(2)
    if out.suffix.lower() not in (".csv", ".xlsx"):
        typer.echo("出力ファイルの拡張子は .csv か .xlsx にしてください。", err=True)
        raise typer.Exit(2)
    lo, hi = day_bounds(first, last)
    with session_scope() as session:
        rows = query_log_rows(session, LogFilter(lo, hi, decision or [], kind or [], text))
        data = rows_to_xlsx(rows) if out.suffix.lower() == ".xlsx" else rows_to_csv(rows)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(data)
        _audit(
            session,
            "logs_export",
            f"{first}..{last}",
            {"rows": len(rows), "file": out.name, "decision": decision, "kind": kind},
        )
    typer.echo(f"{len(rows):,} 件を {out} に出力しました。")


def _audit(session, action: str, target: str, detail: dict) -> None:
    try:
        from qa_data.audit import record_audit
    except ImportError:
        return
    record_audit(session, actor="cli", action=action, target=target, detail=detail)


def register(app: typer.Typer) -> None:
    app.command("report")(report)
    app.command("retune")(retune)
    app.add_typer(logs_app, name="logs")
