"""The monthly report as one self-contained HTML file (inline CSS, charts as base64 PNG).

Charts are drawn with matplotlib and the IPAex Gothic font that japanize-matplotlib ships, so no
system font is needed. ``@page`` rules lay the report out on A4 portrait for printing.
"""

from __future__ import annotations

import base64
import io
import warnings
from datetime import datetime
from html import escape
from typing import Any

from reports.metrics import DECISION_LABELS, DECISIONS
from reports.monthly import MonthlyReport, generated_label
from reports.periods import utc_to_jst

COLORS = {"answer": "#1b6b3a", "candidates": "#e0a526", "no_match": "#c0392b"}
PALETTE = ["#1b6b3a", "#2f6db5", "#e0a526", "#c0392b", "#7d4fa0", "#4d9aa6"]

CSS = """
@page { size: A4 portrait; margin: 14mm 12mm 16mm 12mm; }
@page { @bottom-center { content: counter(page) " / " counter(pages); font-size: 9pt; } }
* { box-sizing: border-box; }
body { font-family: "Hiragino Kaku Gothic ProN", "Yu Gothic", "Meiryo", "Noto Sans CJK JP",
  "IPAexGothic", sans-serif; color: #1f2328; font-size: 10.5pt; line-height: 1.55;
  margin: 0 auto; max-width: 186mm; padding: 8mm 0; background: #fff; }
h1 { font-size: 17pt; margin: 0 0 2mm; color: #1b6b3a; border-bottom: 3px solid #1b6b3a;
  padding-bottom: 2mm; }
h2 { font-size: 13pt; margin: 7mm 0 2.5mm; padding: 1.2mm 3mm; background: #eef5f0;
  border-left: 5px solid #1b6b3a; break-after: avoid; page-break-after: avoid; }
h3 { font-size: 11pt; margin: 4mm 0 1.5mm; break-after: avoid; page-break-after: avoid; }
p.meta { color: #57606a; margin: 0 0 3mm; font-size: 9.5pt; }
table { border-collapse: collapse; width: 100%; margin: 1mm 0 3mm; font-size: 9.5pt;
  break-inside: auto; }
thead { display: table-header-group; }
tr { break-inside: avoid; page-break-inside: avoid; }
th, td { border: 1px solid #c9d1d9; padding: 1.2mm 2mm; text-align: left; vertical-align: top; }
th { background: #f1f4f7; font-weight: bold; }
td.num, th.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
td.text { word-break: break-all; }
.good { color: #1b7f3a; font-weight: bold; }
.bad { color: #c0392b; font-weight: bold; }
figure { margin: 2mm 0 4mm; text-align: center; break-inside: avoid; page-break-inside: avoid; }
figure img { max-width: 100%; height: auto; }
.notice { border: 2px solid #c0392b; background: #fdf1f0; padding: 4mm; margin: 4mm 0;
  font-weight: bold; }
.note { color: #57606a; font-size: 9pt; }
ol.actions li { margin-bottom: 1.5mm; }
section { break-inside: auto; }
.cards { display: flex; flex-wrap: wrap; gap: 2mm; margin: 2mm 0 3mm; }
.card { flex: 1 1 40mm; border: 1px solid #c9d1d9; border-radius: 2mm; padding: 2mm 3mm; }
.card .label { font-size: 8.5pt; color: #57606a; }
.card .value { font-size: 15pt; font-weight: bold; }
@media print { body { padding: 0; max-width: none; } h2 { margin-top: 5mm; } }
"""


def _fmt(value: Any, kind: str = "count") -> str:
    if value is None:
        return "－"
    if kind == "rate":
        return f"{value * 100:.1f}%"
    if kind == "ms":
        return f"{value:,.0f} ms"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return f"{value:,}" if isinstance(value, int) else escape(str(value))


def _fmt_change(value: Any, kind: str) -> str:
    if value is None:
        return "－"
    if kind == "rate":
        return f"{value * 100:+.1f}pt"
    return f"{value:+,}" if isinstance(value, int) else f"{value:+,.1f}"


def _table(headers: list[str], rows: list[list[Any]], numeric: set[int] | None = None) -> str:
    numeric = numeric or set()
    head = "".join(
        f'<th class="{"num" if i in numeric else ""}">{escape(h)}</th>'
        for i, h in enumerate(headers)
    )
    body = []
    for row in rows:
        cells = []
        for i, value in enumerate(row):
            css = "num" if i in numeric else "text"
            text = value if isinstance(value, _Raw) else escape(str(value))
            cells.append(f'<td class="{css}">{text}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    if not rows:
        body.append(f'<tr><td colspan="{len(headers)}">該当するデータはありません。</td></tr>')
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


class _Raw(str):
    """Already-escaped HTML for a table cell."""


def _figure(png: bytes | None, alt: str, width: str = "100%") -> str:
    if not png:
        return ""
    data = base64.b64encode(png).decode("ascii")
    return (
        f'<figure><img alt="{escape(alt)}" style="width:{width}" '
        f'src="data:image/png;base64,{data}"></figure>'
    )


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=False)
    with warnings.catch_warnings():  # japanize-matplotlib still uses distutils' LooseVersion
        warnings.simplefilter("ignore", DeprecationWarning)
        import japanize_matplotlib  # noqa: F401  (registers the IPAex Gothic font)
    import matplotlib.pyplot as plt

    return plt


def _save(fig, integer_x: bool = False) -> bytes:
    plt = _plt()
    if integer_x:
        from matplotlib.ticker import MaxNLocator

        for ax in fig.axes:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=130)
    plt.close(fig)
    return buffer.getvalue()


def trend_chart(report: MonthlyReport) -> bytes:
    plt = _plt()
    labels = [
        f"{m.month}月" if m.month != 1 else f"{m.year}年1月" for m in report.month.trailing(12)
    ]
    questions = [item.questions for item in report.trend]
    fig, ax = plt.subplots(figsize=(7.2, 3.0))
    ax.bar(labels, questions, color="#9cc5a9", label="質問数")
    ax.set_ylabel("質問数")
    ax.tick_params(axis="x", labelsize=8)
    ax2 = ax.twinx()
    for key, label, color in (
        ("answer_rate", "回答率", "#1b6b3a"),
        ("helpful_rate", "役に立った率", "#2f6db5"),
        ("estimated_accuracy", "推定正答率", "#c0392b"),
    ):
        values = [getattr(item, key) for item in report.trend]
        points = [(i, v * 100) for i, v in enumerate(values) if v is not None]
        if points:
            ax2.plot(
                [p[0] for p in points], [p[1] for p in points], marker="o", color=color, label=label
            )
    ax2.set_ylim(0, 100)
    ax2.set_ylabel("割合（%）")
    handles = ax.get_legend_handles_labels()
    handles2 = ax2.get_legend_handles_labels()
    ax.legend(
        handles[0] + handles2[0],
        handles[1] + handles2[1],
        fontsize=8,
        loc="upper left",
        ncol=4,
        frameon=False,
        bbox_to_anchor=(0, 1.16),
    )
    ax.set_title("12か月の推移", fontsize=10, pad=22)
    return _save(fig)


def daily_chart(report: MonthlyReport) -> bytes | None:
    daily = report.stats.daily
    if not daily:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7.2, 2.8))
    x = [d["date"].day for d in daily]
    bottom = [0] * len(daily)
    for key in DECISIONS:
        values = [d[key] for d in daily]
        ax.bar(x, values, bottom=bottom, color=COLORS[key], label=DECISION_LABELS[key])
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.set_xlabel("日")
    ax.set_ylabel("質問数")
    ax.set_xticks(x[::2] if len(x) > 16 else x)
    ax.legend(fontsize=8, frameon=False, ncol=3)
    ax.set_title(f"日別の質問数と判定（{report.month.label}）", fontsize=10)
    return _save(fig)


def decision_pie(report: MonthlyReport) -> bytes | None:
    counts = [report.stats.decisions[k] for k in DECISIONS]
    if not sum(counts):
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(3.6, 2.6))
    ax.pie(
        counts,
        labels=[DECISION_LABELS[k] for k in DECISIONS],
        colors=[COLORS[k] for k in DECISIONS],
        autopct=lambda p: f"{p:.1f}%" if p > 0 else "",
        startangle=90,
        counterclock=False,
        textprops={"fontsize": 8},
    )
    ax.set_title("判定の内訳", fontsize=10)
    return _save(fig)


def barh_chart(title: str, labels: list[str], values: list[float], color: str) -> bytes | None:
    if not labels:
        return None
    plt = _plt()
    labels = [label if len(label) <= 24 else label[:23] + "…" for label in labels]
    fig, ax = plt.subplots(figsize=(7.2, 0.28 * len(labels) + 0.9))
    ax.barh(list(reversed(labels)), list(reversed(values)), color=color)
    ax.tick_params(axis="y", labelsize=8)
    ax.set_xlabel("件数")
    ax.set_title(title, fontsize=10)
    return _save(fig, integer_x=True)


def breakdown_chart(title: str, rows: list[dict[str, Any]]) -> bytes | None:
    rows = rows[:12]
    if not rows:
        return None
    plt = _plt()
    labels = [r["name"] if len(r["name"]) <= 20 else r["name"][:19] + "…" for r in rows]
    fig, ax = plt.subplots(figsize=(7.2, 0.3 * len(rows) + 1.0))
    left = [0] * len(rows)
    for key in DECISIONS:
        values = [r[key] for r in rows]
        ax.barh(
            labels[::-1],
            values[::-1],
            left=left[::-1],
            color=COLORS[key],
            label=DECISION_LABELS[key],
        )
        left = [a + b for a, b in zip(left, values, strict=True)]
    ax.tick_params(axis="y", labelsize=8)
    ax.set_xlabel("質問数")
    ax.legend(fontsize=8, frameon=False, ncol=3, loc="lower right")
    ax.set_title(title, fontsize=10)
    return _save(fig, integer_x=True)


def changes_chart(changes: dict[str, Any]) -> bytes | None:
    rows = changes["by_department"]
    if not rows:
        return None
    plt = _plt()
    keys = (
        ("added", "QA追加"),
        ("edited", "QA編集"),
        ("archived", "QAアーカイブ"),
        ("synonyms", "同義語"),
    )
    fig, ax = plt.subplots(figsize=(7.2, 0.3 * len(rows) + 1.5))
    labels = [r["department"] for r in rows][::-1]
    left = [0] * len(rows)
    for (key, label), color in zip(keys, PALETTE, strict=False):
        values = [r[key] for r in rows][::-1]
        ax.barh(labels, values, left=left, color=color, label=label)
        left = [a + b for a, b in zip(left, values, strict=True)]
    ax.tick_params(axis="y", labelsize=8)
    ax.legend(fontsize=8, frameon=False, ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.25))
    ax.set_title("部署別の更新件数", fontsize=10)
    return _save(fig, integer_x=True)


def _comparison_table(rows: list[dict[str, Any]]) -> str:
    body = []
    for item in rows:
        css = {True: "good", False: "bad"}.get(item["good"], "")
        body.append(
            [
                item["label"],
                _Raw(_fmt(item["value"], item["kind"])),
                _Raw(_fmt(item["previous"], item["kind"])),
                _Raw(_fmt_change(item["change"], item["kind"])),
                _Raw(f'<span class="{css}">{item["arrow"]}</span>'),
            ]
        )
    return _table(["指標", "今月", "前月", "増減", "傾向"], body, {1, 2, 3, 4})


def _jst(moment: Any) -> str:
    if isinstance(moment, datetime):
        return utc_to_jst(moment).strftime("%Y-%m-%d %H:%M")
    return "" if moment is None else str(moment)


def render_html(report: MonthlyReport) -> str:
    from reports.xlsx import operations_rows

    s = report.stats
    parts: list[str] = []
    add = parts.append
    add(f"<h1>{escape(report.title)}</h1>")
    add(
        f'<p class="meta">対象期間: {report.month.first_day:%Y年%m月%d日}～'
        f"{report.month.last_day:%Y年%m月%d日}（日本時間）　作成日時: "
        f"{escape(generated_label(report))}</p>"
    )
    if not report.has_data:
        add(
            '<div class="notice">この月の利用記録はありません。'
            "以下の表はすべて0件または「－」（算出できない値）です。</div>"
        )

    add('<section id="summary"><h2>1. 概要</h2>')
    cards = [
        ("質問数", _fmt(s.questions)),
        ("会話数", _fmt(s.conversations)),
        ("回答率", _fmt(s.answer_rate, "rate")),
        ("推定正答率", _fmt(s.estimated_accuracy, "rate")),
    ]
    add(
        '<div class="cards">'
        + "".join(
            f'<div class="card"><div class="label">{label}</div><div class="value">{value}</div>'
            "</div>"
            for label, value in cards
        )
        + "</div>"
    )
    add(_comparison_table(report.comparison()))
    add(
        '<p class="note">推定正答率＝（回答または候補の選択に至った質問の割合）×（役に立った率）。'
        "フィードバックがない月は前者のみ。↑↓は前月との比較で、緑は改善、赤は悪化を示します。</p>"
    )
    add(_figure(trend_chart(report), "12か月の推移"))
    add("</section>")

    add('<section id="accuracy"><h2>2. 回答精度（回帰セット）</h2>')
    add(
        '<p class="note">回帰セット＝開発用評価セット＋職員がコンソールで解決した住民の質問'
        "（正解のQAが決まっている質問）。現在のインデックスで実行した結果です。</p>"
    )
    if report.regression is not None:
        add(
            f"<p>対象内 {report.regression.in_scope}問・対象外 "
            f"{report.regression.out_of_scope}問</p>"
        )
    add(_comparison_table(report.accuracy_rows()))
    if report.regression_note:
        add(f'<p class="note">{escape(report.regression_note)}</p>')
    add("<h3>結果が悪化した質問</h3>")
    if report.worsened:
        add(
            _table(
                ["質問", "正解のQA", "前月の順位", "今月の順位"],
                [
                    [
                        w["query"],
                        w["expected"],
                        "圏外" if w["before"] is None else w["before"],
                        "圏外" if w["after"] is None else w["after"],
                    ]
                    for w in report.worsened
                ],
                {2, 3},
            )
        )
    else:
        add("<p>悪化した質問はありません。</p>")
    add("</section>")

    add('<section id="usage"><h2>3. 利用状況</h2>')
    add(_figure(daily_chart(report), "日別の質問数"))
    add(_figure(decision_pie(report), "判定の内訳", "50%"))
    add("<h3>よく聞かれた質問 TOP20</h3>")
    add(
        _table(
            ["順位", "質問（代表的な表現）", "件数", "回答", "該当なし"],
            [
                [i, q["text"], q["count"], q["answered"], q["no_match"]]
                for i, q in enumerate(s.top_questions, 1)
            ],
            {0, 2, 3, 4},
        )
    )
    add("<h3>よく見られているQA TOP20</h3>")
    add(
        _figure(
            barh_chart(
                "よく見られているQA",
                [q["question"] for q in s.top_qa[:10]],
                [q["count"] for q in s.top_qa[:10]],
                "#2f6db5",
            ),
            "よく見られているQA",
        )
    )
    add(
        _table(
            ["順位", "QA", "QA ID", "担当部署", "表示回数"],
            [
                [i, q["question"], q["qa_id"], q["department"], q["count"]]
                for i, q in enumerate(s.top_qa, 1)
            ],
            {0, 4},
        )
    )
    add("<h3>未回答の質問グループ TOP20</h3>")
    add(
        '<p class="note">「該当なし」または「解決しない」となった質問を似た表現でまとめたもの'
        "（職員が対応済みのグループは除きます）。</p>"
    )
    add(
        _figure(
            barh_chart(
                "未回答の質問",
                [g["text"] for g in s.top_unanswered[:10]],
                [g["count"] for g in s.top_unanswered[:10]],
                "#c0392b",
            ),
            "未回答の質問",
        )
    )
    add(
        _table(
            ["順位", "質問（代表的な表現）", "件数", "最終日時"],
            [
                [i, g["text"], g["count"], _jst(g.get("last_seen"))]
                for i, g in enumerate(s.top_unanswered, 1)
            ],
            {0, 2},
        )
    )
    for title, rows in (("分類別", s.by_category), ("部署別", s.by_department)):
        add(f"<h3>{title}の質問数</h3>")
        add(_figure(breakdown_chart(f"{title}の質問数", rows), f"{title}の質問数"))
        add(
            _table(
                [title.removesuffix("別"), "質問数", "回答", "候補提示", "該当なし", "回答率"],
                [
                    [
                        r["name"],
                        r["questions"],
                        r["answer"],
                        r["candidates"],
                        r["no_match"],
                        _fmt(r["answer_rate"], "rate"),
                    ]
                    for r in rows
                ],
                {1, 2, 3, 4, 5},
            )
        )
    add("</section>")

    add('<section id="changes"><h2>4. 職員による更新</h2>')
    changes = report.changes
    add(_figure(changes_chart(changes), "部署別の更新件数"))
    rows = [
        [r["department"], r["added"], r["edited"], r["archived"], r["synonyms"]]
        for r in changes["by_department"]
    ]
    totals = changes["totals"]
    rows.append(["合計", totals["added"], totals["edited"], totals["archived"], totals["synonyms"]])
    add(
        _table(
            ["部署", "QA追加", "QA編集", "QAアーカイブ", "同義語の追加・変更"], rows, {1, 2, 3, 4}
        )
    )
    add("</section>")

    add('<section id="operations"><h2>5. 運用状況</h2>')
    op_rows = []
    for label, value, fmt in operations_rows(report):
        if value is None:
            text = "－"
        elif fmt and "%" in fmt:
            text = f"{value * 100:.2f}%"
        elif isinstance(value, float):
            text = f"{value:,.0f}"
        else:
            text = f"{value:,}"
        op_rows.append([label, text])
    add(_table(["項目", "値"], op_rows, {1}))
    if s.errors_by_type:
        add("<h3>エラーの種類</h3>")
        add(_table(["エラー", "件数"], [[e["error"], e["count"]] for e in s.errors_by_type], {1}))
    add("</section>")

    add('<section id="actions"><h2>6. 推奨アクション</h2><ol class="actions">')
    for text in report.suggestions:
        add(f"<li>{escape(text)}</li>")
    add("</ol></section>")

    body = "\n".join(part for part in parts if part)
    return (
        '<!DOCTYPE html>\n<html lang="ja">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(report.title)}</title>\n<style>{CSS}</style>\n</head>\n"
        f"<body>\n{body}\n</body>\n</html>\n"
    )
