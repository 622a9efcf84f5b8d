"""統計・ログ: figures for a date range with charts and CSV downloads, the query-log viewer and
export (masked text only), and the monthly report (Excel + HTML).

The figures come from ``reports.metrics`` — the same code as the monthly report.
"""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path

import pandas as pd
import streamlit as st
from sqlalchemy import func, select

from admin_ui.auth import client_ip, require_login
from qa_data.db import session_scope
from qa_data.models import QueryLog, utcnow
from reports.logs_export import LogFilter, query_log_rows, rows_to_csv, rows_to_xlsx, table_csv
from reports.metrics import DECISION_LABELS, DECISIONS, compute_stats
from reports.periods import Month, day_bounds, utc_to_jst

user = require_login()

LOG_VIEW_LIMIT = 1000
KINDS = {
    "message": "質問",
    "select": "候補の選択",
    "none_of_these": "どれでもない",
    "feedback": "フィードバック",
    "garbage": "ごみ分別",
    "menu": "メニュー",
    "handoff": "窓口案内",
    "dialogue": "あいさつ等",
    "error": "エラー",
}


def _audit(action: str, target: str, detail: dict) -> None:
    try:
        from qa_data.audit import record_audit
    except ImportError:
        return
    with session_scope() as session:
        record_audit(
            session,
            actor=user.login_id,
            action=action,
            target=target,
            detail=detail,
            ip=client_ip(),
        )


def _pct(value: float | None) -> str:
    return "－" if value is None else f"{value * 100:.1f}%"


def _download(frame: pd.DataFrame, name: str, key: str) -> None:
    st.download_button(
        "CSVをダウンロード",
        data=table_csv(frame.to_dict("records"), [(c, c) for c in frame.columns]),
        file_name=f"{name}.csv",
        mime="text/csv",
        key=f"csv_{key}",
    )


def _table(frame: pd.DataFrame, name: str, key: str) -> None:
    if frame.empty:
        st.info("この期間のデータはありません。")
        return
    st.dataframe(frame, hide_index=True, width="stretch")
    _download(frame, name, key)


st.title("統計・ログ")
today = utc_to_jst(utcnow()).date()
default_start = today - timedelta(days=29)
picked = st.date_input(
    "期間（日本時間）",
    value=(default_start, today),
    max_value=today,
    format="YYYY/MM/DD",
    key="stats_range",
)
if isinstance(picked, tuple | list):
    first = picked[0] if picked else default_start
    last = picked[1] if len(picked) > 1 else first
else:
    first = last = picked
if last < first:
    first, last = last, first
start, end = day_bounds(first, last)
label = f"{first:%Y-%m-%d}_{last:%Y-%m-%d}"

with session_scope() as session:
    stats = compute_stats(session, start, end, label)

st.caption(
    f"{first:%Y年%m月%d日}～{last:%Y年%m月%d日} の集計です。"
    "質問数は住民が入力した質問（候補の選択・フィードバックを除く）の件数です。"
)
cols = st.columns(5)
cols[0].metric("質問数", f"{stats.questions:,}")
cols[1].metric("会話数", f"{stats.conversations:,}")
cols[2].metric("回答率", _pct(stats.answer_rate))
cols[3].metric("役に立った率", _pct(stats.helpful_rate))
cols[4].metric("推定正答率", _pct(stats.estimated_accuracy))
if not stats.has_data:
    st.info("この期間の利用記録はありません。")

tabs = st.tabs(
    [
        "質問数",
        "判定の内訳",
        "役に立った率",
        "よく見られているQA",
        "未回答の質問",
        "部署・分類",
        "応答時間・運用",
        "問い合わせログ",
        "月次レポート",
    ]
)

with tabs[0]:
    daily = pd.DataFrame(
        [
            {
                "日付": d["date"].isoformat(),
                "質問数": d["questions"],
                **{DECISION_LABELS[k]: d[k] for k in DECISIONS},
            }
            for d in stats.daily
        ]
    )
    st.subheader("日別の質問数")
    if not daily.empty:
        st.bar_chart(daily, x="日付", y=[DECISION_LABELS[k] for k in DECISIONS], stack=True)
    _table(daily, f"日別_{label}", "daily")
    weekly = pd.DataFrame(
        [
            {"週の初日（月曜）": w["week_start"].isoformat(), "質問数": w.get("questions", 0)}
            for w in stats.weekly
        ]
    )
    st.subheader("週別の質問数")
    if not weekly.empty:
        st.bar_chart(weekly, x="週の初日（月曜）", y="質問数")
    _table(weekly, f"週別_{label}", "weekly")

with tabs[1]:
    mix = pd.DataFrame(
        [
            {
                "判定": DECISION_LABELS[k],
                "件数": stats.decisions[k],
                "割合": _pct(stats.decisions[k] / stats.questions if stats.questions else None),
            }
            for k in DECISIONS
        ]
    )
    st.subheader("判定の内訳（回答・候補提示・該当なし）")
    if stats.questions:
        st.bar_chart(mix, x="判定", y="件数")
    st.caption(
        f"候補選択率（候補を表示した質問のうち、住民が候補を選んだ割合）: "
        f"{_pct(stats.candidate_selection_rate)}"
    )
    _table(mix, f"判定の内訳_{label}", "mix")

with tabs[2]:
    st.subheader("役に立った率（フィードバック）")
    st.write(
        f"「解決した」{stats.feedback_helpful:,}件／回答 {stats.feedback_total:,}件"
        f"（役に立った率 {_pct(stats.helpful_rate)}）"
    )
    feedback = pd.DataFrame(
        [
            {
                "QA ID": q["qa_id"],
                "質問": q["question"],
                "担当部署": q["department"],
                "解決した": q["helpful"],
                "解決しない": q["not_helpful"],
                "役に立った率": _pct(q["helpful_rate"]),
            }
            for q in stats.qa_feedback
        ]
    )
    if not feedback.empty:
        st.bar_chart(feedback.head(20), x="QA ID", y=["解決した", "解決しない"], stack=True)
    _table(feedback, f"QA別フィードバック_{label}", "feedback")

with tabs[3]:
    st.subheader("よく見られている質問")
    top_qa = pd.DataFrame(
        [
            {
                "順位": i,
                "QA ID": q["qa_id"],
                "質問": q["question"],
                "担当部署": q["department"],
                "表示回数": q["count"],
            }
            for i, q in enumerate(stats.top_qa, 1)
        ]
    )
    if not top_qa.empty:
        st.bar_chart(top_qa, x="質問", y="表示回数", horizontal=True, sort="-表示回数")
    _table(top_qa, f"よく見られているQA_{label}", "top_qa")
    st.subheader("よく聞かれた質問")
    top_questions = pd.DataFrame(
        [
            {
                "順位": i,
                "質問": q["text"],
                "件数": q["count"],
                "回答": q["answered"],
                "該当なし": q["no_match"],
            }
            for i, q in enumerate(stats.top_questions, 1)
        ]
    )
    _table(top_questions, f"よく聞かれた質問_{label}", "top_questions")

with tabs[4]:
    st.subheader("未回答の質問グループ（上位）")
    st.caption(
        "「該当なし」「解決しない」となった質問を似た表現でまとめています（対応済みを除く）。"
    )
    unanswered = pd.DataFrame(
        [
            {
                "順位": i,
                "質問（代表的な表現）": g["text"],
                "件数": g["count"],
                "最終日時": utc_to_jst(g["last_seen"]).strftime("%Y-%m-%d %H:%M")
                if g.get("last_seen")
                else "",
            }
            for i, g in enumerate(stats.top_unanswered, 1)
        ]
    )
    if not unanswered.empty:
        st.bar_chart(unanswered, x="質問（代表的な表現）", y="件数", horizontal=True, sort="-件数")
    _table(unanswered, f"未回答の質問_{label}", "unanswered")

with tabs[5]:
    for title, rows, key in (
        ("部署別", stats.by_department, "department"),
        ("分類別", stats.by_category, "category"),
    ):
        st.subheader(f"{title}の質問数")
        frame = pd.DataFrame(
            [
                {
                    title.removesuffix("別"): r["name"],
                    "質問数": r["questions"],
                    **{DECISION_LABELS[k]: r[k] for k in DECISIONS},
                    "回答率": _pct(r["answer_rate"]),
                }
                for r in rows
            ]
        )
        if not frame.empty:
            st.bar_chart(
                frame,
                x=title.removesuffix("別"),
                y=[DECISION_LABELS[k] for k in DECISIONS],
                horizontal=True,
                stack=True,
            )
        _table(frame, f"{title}_{label}", key)

with tabs[6]:
    st.subheader("応答時間")
    cols = st.columns(4)
    cols[0].metric("p50", "－" if stats.response_p50 is None else f"{stats.response_p50:,.0f} ms")
    cols[1].metric("p95", "－" if stats.response_p95 is None else f"{stats.response_p95:,.0f} ms")
    cols[2].metric("稼働率", _pct(stats.availability))
    cols[3].metric("エラー", f"{stats.errors:,}件")
    with session_scope() as session:
        times = [
            float(r["response_ms"])
            for r in query_log_rows(session, LogFilter(start, end))
            if r["response_ms"] is not None
        ]
    if times:
        buckets = pd.cut(
            pd.Series(times),
            bins=[0, 250, 500, 1000, 2000, 5000, float("inf")],
            labels=["～250ms", "～500ms", "～1秒", "～2秒", "～5秒", "5秒超"],
            right=False,
        )
        spread = buckets.value_counts(sort=False).rename_axis("応答時間").reset_index(name="件数")
        st.bar_chart(spread, x="応答時間", y="件数")
        _table(spread.astype({"応答時間": str}), f"応答時間_{label}", "latency")
    operations = pd.DataFrame(
        [
            {"項目": "個人情報のマスキング件数", "値": stats.masked_total},
            {"項目": "ごみ分別の検索数", "値": stats.garbage_lookups},
            {"項目": "ログイン失敗", "値": stats.login_failed},
            {"項目": "アカウントロック", "値": stats.account_locked},
        ]
    )
    _table(operations, f"運用_{label}", "operations")

with tabs[7]:
    st.subheader("問い合わせログ")
    st.caption(
        "住民の入力は保存前に個人情報をマスキングしています（電話番号・住所など）。"
        "会話IDは匿名化した値です。"
    )
    c1, c2, c3 = st.columns([2, 2, 3])
    decisions = c1.multiselect(
        "判定", list(DECISIONS), format_func=lambda k: DECISION_LABELS[k], key="log_decisions"
    )
    kinds = c2.multiselect("種類", list(KINDS), format_func=lambda k: KINDS[k], key="log_kinds")
    text = c3.text_input("質問文に含まれる語", key="log_text")
    errors_only = st.checkbox("エラーのみ", key="log_errors")
    flt = LogFilter(start, end, decisions, kinds, text, errors_only=errors_only)
    with session_scope() as session:
        rows = query_log_rows(session, flt)
    st.write(f"{len(rows):,}件（画面には新しい順に最大{LOG_VIEW_LIMIT:,}件を表示）")
    view = pd.DataFrame(rows[:LOG_VIEW_LIMIT])
    if not view.empty:
        view = view.rename(
            columns={
                "id": "ID",
                "created_at": "日時",
                "session": "会話ID",
                "channel": "経路",
                "kind": "種類",
                "text": "質問（マスキング済み）",
                "masked_count": "マスキング数",
                "decision": "判定",
                "qa": "表示したQA",
                "department": "部署",
                "category": "分類",
                "response_ms": "応答時間(ms)",
                "error": "エラー",
            }
        )
        st.dataframe(view, hide_index=True, width="stretch")
    detail = {
        "rows": len(rows),
        "from": first.isoformat(),
        "to": last.isoformat(),
        "decision": decisions,
        "kind": kinds,
        "text": text,
    }
    d1, d2 = st.columns(2)
    d1.download_button(
        "CSVで出力",
        data=rows_to_csv(rows),
        file_name=f"query_logs_{label}.csv",
        mime="text/csv",
        key="export_logs_csv",
        on_click=_audit,
        args=("logs_export", label, {**detail, "format": "csv"}),
    )
    d2.download_button(
        "Excelで出力",
        data=rows_to_xlsx(rows),
        file_name=f"query_logs_{label}.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key="export_logs_xlsx",
        on_click=_audit,
        args=("logs_export", label, {**detail, "format": "xlsx"}),
    )

with tabs[8]:
    st.subheader("月次レポート")
    st.caption(
        "指定した月（日本時間）の月次レポートを Excel と HTML（A4 で印刷可能）で作成します。"
        "回帰セットによる精度測定を含めると、数十秒かかることがあります。"
    )
    current = Month.current()
    with session_scope() as session:
        oldest = session.scalar(select(func.min(QueryLog.created_at)))
    first_month = Month.current(oldest) if oldest else current.previous()
    months = []
    month = current
    while month >= min(first_month, current.previous()) and len(months) < 120:
        months.append(str(month))
        month = month.previous()
    chosen = st.selectbox("対象の月", months, index=1 if len(months) > 1 else 0, key="report_month")
    with_regression = st.checkbox("回帰セットで精度を測る", value=True, key="report_regression")
    if st.button("レポートを作成", type="primary", key="report_build"):
        from reports.monthly import build_report, write_report

        month = Month.parse(chosen)
        with st.spinner("レポートを作成しています…"):
            with session_scope() as session:
                built = build_report(
                    session, month, with_regression=with_regression, actor=user.login_id
                )
            with tempfile.TemporaryDirectory() as folder:
                xlsx_path, html_path = write_report(built, Path(folder))
                st.session_state["report_files"] = {
                    "month": chosen,
                    "xlsx": (xlsx_path.name, xlsx_path.read_bytes()),
                    "html": (html_path.name, html_path.read_bytes()),
                    "has_data": built.has_data,
                }
        _audit("report", chosen, {"regression": with_regression, "source": "console"})
    files = st.session_state.get("report_files")
    if files:
        if files["has_data"]:
            st.success(f"{files['month']} のレポートを作成しました。")
        else:
            st.warning(f"{files['month']} の利用記録はありません（その旨を記載したレポートです）。")
        r1, r2 = st.columns(2)
        r1.download_button(
            "Excel をダウンロード",
            data=files["xlsx"][1],
            file_name=files["xlsx"][0],
            mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            key="report_xlsx",
        )
        r2.download_button(
            "HTML をダウンロード",
            data=files["html"][1],
            file_name=files["html"][0],
            mime="text/html",
            key="report_html",
        )
