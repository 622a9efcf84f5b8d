"""CLI commands for spreadsheets: ``import``, ``export``, ``garbage import|export``, ``seed-demo``.

Exit codes: 0 done; 1 validation errors (nothing written); 2 usage error (bad option, unknown
format). Heavy modules are imported inside the commands so that ``madoguchi --help`` stays fast.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Protocol, TypeVar

import typer

EXIT_INVALID = 1
EXIT_USAGE = 2

FormatOption = Annotated[
    str | None,
    typer.Option("--format", help="xlsx または csv（省略時はファイルの拡張子で判断）"),
]
EncodingOption = Annotated[
    str | None,
    typer.Option(
        "--encoding",
        help="CSV の文字コード（読み込み: 省略時は UTF-8 / UTF-8 BOM付き / CP932 を自動判別。"
        "書き出し: 省略時は UTF-8 BOM付き、cp932 も可）",
    ),
]


def _echo_lines(lines: list[str], *, error: bool = False) -> None:
    for line in lines:
        typer.echo(line, err=error)


def _usage_error(message: str) -> typer.Exit:
    typer.echo(f"エラー: {message}", err=True)
    return typer.Exit(EXIT_USAGE)


class _Report(Protocol):
    @property
    def ok(self) -> bool: ...


_R = TypeVar("_R", bound=_Report)


def _run(operation: Callable[[], _R], describe: Callable[[_R], list[str]]) -> None:
    """Runs one import or export and prints its report: to stderr with EXIT_INVALID when it has
    problems; a format that cannot be determined is a usage error."""
    from qa_data.spreadsheet import FormatError

    try:
        report = operation()
    except FormatError as error:
        raise _usage_error(str(error)) from error
    _echo_lines(describe(report), error=not report.ok)
    if not report.ok:
        raise typer.Exit(EXIT_INVALID)


def import_command(
    file: Annotated[Path, typer.Argument(help="取り込む .xlsx または .csv ファイル")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="書き込まずに、新規・変更・変更なしを表示します")
    ] = False,
    sheet: Annotated[
        str | None, typer.Option("--sheet", help="読み込むシート名（省略時は先頭のシート）")
    ] = None,
    department: Annotated[
        str | None,
        typer.Option(
            "--department",
            help="「部署」が空欄の行（「部署」列がないファイルでは新しい行）の部署。"
            "省略時は設定の default_department（例: 未設定）",
        ),
    ] = None,
    strict: Annotated[
        bool,
        typer.Option("--strict", help="登録されていない部署をエラーにします（省略時は作成します）"),
    ] = False,
    format: FormatOption = None,
    encoding: EncodingOption = None,
) -> None:
    """QAをスプレッドシートから取り込みます。問題が1つでもあれば何も書き込みません。

    ID のある行はその QA を更新（履歴を記録）し、ID のない行は新しい ID で追加します。
    """
    from qa_data.importer import format_report, import_qa

    _run(
        lambda: import_qa(
            file,
            dry_run=dry_run,
            sheet=sheet,
            department=department,
            strict=strict,
            format=format,
            encoding=encoding,
        ),
        lambda report: format_report(report, limit=20),
    )


def export_command(
    file: Annotated[Path, typer.Argument(help="書き出す .xlsx または .csv ファイル")],
    format: FormatOption = None,
    encoding: EncodingOption = None,
    department: Annotated[
        str | None, typer.Option("--department", help="この部署の QA だけを書き出します")
    ] = None,
    category: Annotated[
        str | None,
        typer.Option("--category", help="このカテゴリ（「大分類」または「大分類/中分類」）だけ"),
    ] = None,
    status: Annotated[
        str | None,
        typer.Option("--status", help="published / draft / archived（公開/非公開/アーカイブ）"),
    ] = None,
) -> None:
    """QAをスプレッドシートに書き出します（取り込みと同じ列）。"""
    from qa_data.exporter import export_qa, format_export_report

    _run(
        lambda: export_qa(
            file,
            format=format,
            encoding=encoding,
            department=department,
            category=category,
            status=status,
        ),
        format_export_report,
    )


def garbage_import_command(
    file: Annotated[Path, typer.Argument(help="津市形式・5374形式・madoguchi形式の .csv / .xlsx")],
    replace: Annotated[
        bool, typer.Option("--replace", help="辞書全体をこのファイルの内容に置き換えます")
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="書き込まずに件数だけ表示")] = False,
    sheet: Annotated[str | None, typer.Option("--sheet", help="読み込むシート名")] = None,
    format: FormatOption = None,
    encoding: EncodingOption = None,
) -> None:
    """ごみ分別辞書を取り込みます（津市形式・5374形式・madoguchi形式）。

    --replace がなければ、品目と分別区分が同じ項目を更新し、残りを追加します。
    """
    from qa_data.garbage_io import format_garbage_report, import_garbage

    _run(
        lambda: import_garbage(
            file, replace=replace, dry_run=dry_run, sheet=sheet, format=format, encoding=encoding
        ),
        format_garbage_report,
    )


def garbage_export_command(
    file: Annotated[Path, typer.Argument(help="書き出す .xlsx または .csv ファイル")],
    format: FormatOption = None,
    encoding: EncodingOption = None,
) -> None:
    """ごみ分別辞書を書き出します（列: 品目,読み,分別区分,出し方,備考）。"""
    from qa_data.exporter import format_export_report
    from qa_data.garbage_io import export_garbage

    _run(lambda: export_garbage(file, format=format, encoding=encoding), format_export_report)


def seed_demo_command(
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="データがあっても読み込みます"
            "（デモと同じ ID の QA は上書き、ごみ分別辞書は置き換え）",
        ),
    ] = False,
) -> None:
    """デモの市（みどり市）の部署・QA・ごみ分別辞書を読み込みます。データがあれば中止します。"""
    from qa_data.demo import seed_demo

    report = seed_demo(force=force)
    _echo_lines(report.lines)
    if not report.ok:
        _echo_lines(report.errors, error=True)
        raise typer.Exit(EXIT_INVALID)
    typer.echo("デモデータを読み込みました。")


def register(app: typer.Typer) -> None:
    app.command("import")(import_command)
    app.command("export")(export_command)
    app.command("seed-demo")(seed_demo_command)
    garbage_app = typer.Typer(help="ごみ分別辞書の取り込み・書き出し", no_args_is_help=True)
    garbage_app.command("import")(garbage_import_command)
    garbage_app.command("export")(garbage_export_command)
    app.add_typer(garbage_app, name="garbage")
