"""The monthly report as an Excel workbook with native Excel charts (openpyxl).

Each sheet starts with a title in A1; tables have their header in bold on a shaded row, figures
in column A and values in the next columns, so that staff can reuse them in their own documents.
Rates are stored as fractions with a percentage format.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from reports.metrics import DECISION_LABELS, DECISIONS
from reports.monthly import MonthlyReport, generated_label

HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
TITLE_FONT = Font(bold=True, size=14)
BOLD = Font(bold=True)
PERCENT = "0.0%"
MS = "#,##0"
NO_DATA = "この月の利用記録はありません。"


def _title(ws: Worksheet, text: str, note: str | None = None) -> int:
    ws["A1"] = text
    ws["A1"].font = TITLE_FONT
    if note:
        ws["A2"] = note
    return 4


def _table(
    ws: Worksheet,
    row: int,
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    formats: dict[int, str] | None = None,
    widths: Sequence[int] | None = None,
) -> tuple[int, int]:
    """Writes a table at ``row``; returns (header row, last data row)."""
    for column, header in enumerate(headers, 1):
        cell = ws.cell(row=row, column=column, value=header)
        cell.font = BOLD
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(horizontal="center")
    for offset, values in enumerate(rows, 1):
        for column, value in enumerate(values, 1):
            cell = ws.cell(row=row + offset, column=column, value=value)
            if formats and column in formats and isinstance(value, int | float):
                cell.number_format = formats[column]
    if widths:
        for column, width in enumerate(widths, 1):
            letter = get_column_letter(column)
            ws.column_dimensions[letter].width = max(ws.column_dimensions[letter].width or 0, width)
    return row, row + len(rows)


def _fmt_kind(kind: str) -> str:
    return PERCENT if kind == "rate" else "#,##0"


def _comparison(ws: Worksheet, row: int, rows: list[dict[str, Any]]) -> int:
    headers = ("指標", "今月", "前月", "増減", "傾向")
    for column, header in enumerate(headers, 1):
        cell = ws.cell(row=row, column=column, value=header)
        cell.font = BOLD
        cell.fill = HEADER_FILL
    for offset, item in enumerate(rows, 1):
        r = row + offset
        ws.cell(row=r, column=1, value=item["label"])
        for column, key in ((2, "value"), (3, "previous"), (4, "change")):
            value = item[key]
            cell = ws.cell(row=r, column=column, value="－" if value is None else value)
            if value is not None:
                cell.number_format = _fmt_kind(item["kind"])
                if key == "change":
                    cell.number_format = (
                        "+0.0%;-0.0%;0.0%" if item["kind"] == "rate" else "+#,##0;-#,##0;0"
                    )
        cell = ws.cell(row=r, column=5, value=item["arrow"])
        if item["good"] is True:
            cell.font = Font(color="1B7F3A", bold=True)
        elif item["good"] is False:
            cell.font = Font(color="C00000", bold=True)
    return row + len(rows)


def _bar_chart(
    ws: Worksheet,
    title: str,
    header_row: int,
    last_row: int,
    data_cols: tuple[int, int],
    anchor: str,
    *,
    stacked: bool = False,
    horizontal: bool = False,
    y_title: str = "件数",
    width: float = 18,
    height: float = 8,
) -> None:
    if last_row <= header_row:
        return
    chart = BarChart()
    chart.type = "bar" if horizontal else "col"
    chart.title = title
    chart.y_axis.title = y_title
    data = Reference(
        ws, min_col=data_cols[0], max_col=data_cols[1], min_row=header_row, max_row=last_row
    )
    categories = Reference(ws, min_col=1, min_row=header_row + 1, max_row=last_row)
    chart.add_data(data, titles_from_data=True)
    chart.set_categories(categories)
    if stacked:
        chart.grouping = "stacked"
        chart.overlap = 100
    chart.width, chart.height = width, height
    ws.add_chart(chart, anchor)


def write_xlsx(report: MonthlyReport, path: Path) -> Path:
    stats = report.stats
    wb = Workbook()

    # -- 概要 ------------------------------------------------------------------------------------
    ws = wb.active
    ws.title = "概要"
    row = _title(ws, report.title, f"作成日時: {generated_label(report)}（日本時間）")
    ws.cell(row=3, column=1, value="対象期間")
    ws.cell(
        row=3,
        column=2,
        value=f"{report.month.first_day.isoformat()} ～ {report.month.last_day.isoformat()}",
    )
    if not report.has_data:
        ws.cell(row=row, column=1, value=NO_DATA).font = Font(bold=True, color="C00000")
        row += 2
    last = _comparison(ws, row, report.comparison())
    ws.column_dimensions["A"].width = 22
    for letter in "BCDE":
        ws.column_dimensions[letter].width = 12
    row = last + 2
    ws.cell(row=row, column=1, value="12か月の推移").font = BOLD
    row += 1
    trend_rows = [
        [
            item.label,
            item.questions,
            item.conversations,
            item.answer_rate,
            item.no_match_rate,
            item.helpful_rate,
            item.estimated_accuracy,
        ]
        for item in report.trend
    ]
    header, last = _table(
        ws,
        row,
        ("月", "質問数", "会話数", "回答率", "該当なし率", "役に立った率", "推定正答率"),
        trend_rows,
        {4: PERCENT, 5: PERCENT, 6: PERCENT, 7: PERCENT},
    )
    _bar_chart(ws, "質問数・会話数の推移", header, last, (2, 3), f"I{4}")
    line = LineChart()
    line.title = "回答率・役に立った率の推移"
    line.y_axis.title = "割合"
    line.y_axis.number_format = "0%"
    line.add_data(Reference(ws, min_col=4, max_col=7, min_row=header, max_row=last), True)
    line.set_categories(Reference(ws, min_col=1, min_row=header + 1, max_row=last))
    line.width, line.height = 18, 8
    ws.add_chart(line, "I21")

    # -- 精度 ------------------------------------------------------------------------------------
    ws = wb.create_sheet("精度")
    row = _title(
        ws,
        "回答精度（回帰セット）",
        "回帰セット＝開発用評価セット＋職員がコンソールで解決した住民の質問。現在のインデックスで実行。",
    )
    if report.regression is not None:
        ws.cell(row=3, column=1, value="質問数（対象内／対象外）")
        ws.cell(
            row=3,
            column=2,
            value=f"{report.regression.in_scope}／{report.regression.out_of_scope}",
        )
    last = _comparison(ws, row, report.accuracy_rows())
    row = last + 1
    if report.regression_note:
        ws.cell(row=row, column=1, value=report.regression_note)
        row += 1
    row += 1
    ws.cell(row=row, column=1, value="結果が悪化した質問").font = BOLD
    row += 1
    if report.worsened:
        _table(
            ws,
            row,
            ("質問", "正解のQA", "前月の順位", "今月の順位", "出典"),
            [
                [
                    w["query"],
                    w["expected"],
                    w["before"] if w["before"] is not None else "圏外",
                    w["after"] if w["after"] is not None else "圏外",
                    "開発用評価セット" if w["source"] == "dev" else "職員が解決した質問",
                ]
                for w in report.worsened
            ],
            widths=(40, 16, 12, 12, 18),
        )
    else:
        ws.cell(row=row, column=1, value="悪化した質問はありません。")
    ws.column_dimensions["A"].width = max(ws.column_dimensions["A"].width or 0, 26)

    # -- 日別 ------------------------------------------------------------------------------------
    ws = wb.create_sheet("日別")
    row = _title(ws, "日別の質問数と判定")
    header, last = _table(
        ws,
        row,
        ("日付", "質問数", *(DECISION_LABELS[d] for d in DECISIONS)),
        [[d["date"].isoformat(), d["questions"], *(d[k] for k in DECISIONS)] for d in stats.daily],
        widths=(12, 10, 10, 10, 10),
    )
    _bar_chart(ws, "日別の判定の内訳", header, last, (3, 5), "H4", stacked=True, width=24)
    row = last + 2
    ws.cell(row=row, column=1, value="週別（月曜始まり）").font = BOLD
    _table(
        ws,
        row + 1,
        ("週の初日", "質問数", *(DECISION_LABELS[d] for d in DECISIONS)),
        [
            [w["week_start"].isoformat(), w.get("questions", 0), *(w.get(k, 0) for k in DECISIONS)]
            for w in stats.weekly
        ],
    )

    # -- TOP 20 ----------------------------------------------------------------------------------
    ws = wb.create_sheet("よくある質問TOP20")
    row = _title(ws, "よく聞かれた質問 TOP20")
    header, last = _table(
        ws,
        row,
        ("質問（代表的な表現）", "件数", "回答", "該当なし"),
        [[q["text"], q["count"], q["answered"], q["no_match"]] for q in stats.top_questions],
        widths=(50, 8, 8, 10),
    )
    _bar_chart(
        ws, "よく聞かれた質問", header, min(last, header + 10), (2, 2), "G4", horizontal=True
    )

    ws = wb.create_sheet("よく見られたQA")
    row = _title(ws, "よく見られているQA TOP20")
    header, last = _table(
        ws,
        row,
        ("QA（質問文）", "表示回数", "QA ID", "担当部署"),
        [[q["question"], q["count"], q["qa_id"], q["department"]] for q in stats.top_qa],
        widths=(50, 10, 14, 16),
    )
    _bar_chart(
        ws, "よく見られているQA", header, min(last, header + 10), (2, 2), "G4", horizontal=True
    )

    ws = wb.create_sheet("未回答TOP20")
    row = _title(ws, "未回答の質問グループ TOP20", "該当なし・「解決しない」となった質問のグループ")
    header, last = _table(
        ws,
        row,
        ("質問（代表的な表現）", "件数", "最終日時（日本時間）"),
        [
            [
                g["text"],
                g["count"],
                _jst_text(g.get("last_seen")),
            ]
            for g in stats.top_unanswered
        ],
        widths=(50, 8, 20),
    )
    _bar_chart(ws, "未回答の質問", header, min(last, header + 10), (2, 2), "F4", horizontal=True)

    # -- 分類別・部署別 ----------------------------------------------------------------------------
    for name, title, rows in (
        ("分類別", "分類別の質問数", stats.by_category),
        ("部署別", "部署別の質問数", stats.by_department),
    ):
        ws = wb.create_sheet(name)
        row = _title(ws, title, "回答・候補の分類／部署（該当なしは「分類なし」「部署なし」）")
        header, last = _table(
            ws,
            row,
            (name.removesuffix("別"), "質問数", "回答", "候補提示", "該当なし", "回答率"),
            [
                [
                    r["name"],
                    r["questions"],
                    r["answer"],
                    r["candidates"],
                    r["no_match"],
                    r["answer_rate"],
                ]
                for r in rows
            ],
            {6: PERCENT},
            widths=(30, 10, 10, 10, 10, 10),
        )
        _bar_chart(ws, title, header, last, (3, 5), "I4", stacked=True, horizontal=True)

    # -- 職員の更新 --------------------------------------------------------------------------------
    ws = wb.create_sheet("職員の更新")
    row = _title(ws, "職員によるQA・同義語の更新（部署別）")
    changes = report.changes
    header, last = _table(
        ws,
        row,
        ("部署", "QA追加", "QA編集", "QAアーカイブ", "同義語の追加・変更"),
        [
            [r["department"], r["added"], r["edited"], r["archived"], r["synonyms"]]
            for r in changes["by_department"]
        ]
        + [
            [
                "合計",
                changes["totals"]["added"],
                changes["totals"]["edited"],
                changes["totals"]["archived"],
                changes["totals"]["synonyms"],
            ]
        ],
        widths=(24, 10, 10, 14, 18),
    )
    _bar_chart(ws, "部署別の更新", header, last - 1, (2, 5), "H4", stacked=True)

    # -- 運用 ------------------------------------------------------------------------------------
    ws = wb.create_sheet("運用")
    row = _title(ws, "運用状況")
    operations = operations_rows(report)
    for offset, (label, value, fmt) in enumerate(operations):
        ws.cell(row=row + offset, column=1, value=label)
        cell = ws.cell(row=row + offset, column=2, value="－" if value is None else value)
        if value is not None and fmt:
            cell.number_format = fmt
    ws.column_dimensions["A"].width = 32
    ws.column_dimensions["B"].width = 14
    row += len(operations) + 1
    ws.cell(row=row, column=1, value="エラーの種類").font = BOLD
    if stats.errors_by_type:
        _table(
            ws,
            row + 1,
            ("エラー", "件数"),
            [[e["error"], e["count"]] for e in stats.errors_by_type],
        )
    else:
        ws.cell(row=row + 1, column=1, value="エラーはありません。")

    # -- 推奨アクション ---------------------------------------------------------------------------
    ws = wb.create_sheet("推奨アクション")
    row = _title(ws, "推奨アクション", "ログと回帰セットの結果から自動で算出しています。")
    for offset, text in enumerate(report.suggestions):
        ws.cell(row=row + offset, column=1, value=f"{offset + 1}. {text}")
    ws.column_dimensions["A"].width = 110

    wb.save(path)
    return path


def operations_rows(report: MonthlyReport) -> list[tuple[str, Any, str | None]]:
    """(label, value, number format) of the operations table; the HTML uses the same rows."""
    s = report.stats
    return [
        ("応答件数（全メッセージ）", s.rows, "#,##0"),
        ("稼働率（エラーなく応答できた割合）", s.availability, "0.00%"),
        ("エラー件数", s.errors, "#,##0"),
        ("応答時間 p50（ミリ秒）", s.response_p50, MS),
        ("応答時間 p95（ミリ秒）", s.response_p95, MS),
        ("応答時間 平均（ミリ秒）", s.response_mean, MS),
        ("個人情報のマスキング件数", s.masked_total, "#,##0"),
        ("マスキングを含むメッセージ数", s.masked_rows, "#,##0"),
        ("ごみ分別の検索数", s.garbage_lookups, "#,##0"),
        ("職員のログイン", s.logins, "#,##0"),
        ("ログイン失敗", s.login_failed, "#,##0"),
        ("アカウントロック", s.account_locked, "#,##0"),
    ]


def _jst_text(moment: Any) -> str:
    from datetime import datetime

    from reports.periods import utc_to_jst

    if isinstance(moment, datetime):
        return utc_to_jst(moment).strftime("%Y-%m-%d %H:%M")
    return "" if moment is None else str(moment)
