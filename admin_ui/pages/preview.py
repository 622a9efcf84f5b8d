"""プレビュー（テスト環境）: how retrieval ranks a question, drafts included, before publishing."""

from __future__ import annotations

import streamlit as st

from admin_ui.auth import require_login
from admin_ui.common import answer_preview
from qa_data import qa_store
from qa_data.db import session_scope
from qa_data.permissions import STATUS_LABELS
from qa_data.settings import get_settings

user = require_login()
st.title("プレビュー（テスト環境）")
st.caption(
    "住民と同じ検索で、質問に対する候補の順位・スコア・判定を確認できます。"
    "下書きのQAも含めて検索するので、公開前に確かめられます。"
)

DECISIONS = {
    "answer": "回答する（1件目を表示）",
    "candidates": "候補を表示して選んでもらう",
    "no_match": "該当なし（お問い合わせ先を案内）",
}


@st.cache_resource(show_spinner="検索エンジンを準備しています…")
def retriever(url: str):
    from nlu.retrieval import Retriever

    return Retriever.from_settings(url=url)


question = st.text_input("住民の質問", key="preview_question", placeholder="例: 粗大ごみの出し方")
include_drafts = st.checkbox("下書きを含める", value=True, key="preview_drafts")
if question.strip():
    engine = retriever(get_settings().resolved_database_url)
    engine.refresh(force=True)
    result = engine.search(question, include_drafts=include_drafts)
    st.subheader(f"判定: {DECISIONS.get(result.decision, result.decision)}")
    status = engine.status()
    st.caption(f"検索方式: {status.get('mode')}　{status.get('warning') or ''}")
    with session_scope() as session:
        rows = []
        for rank, hit in enumerate(result.hits, start=1):
            entry = qa_store.get_entry(session, hit.id)
            rows.append(
                {
                    "順位": rank,
                    "ID": hit.id,
                    "スコア": round(hit.score, 3),
                    "状態": STATUS_LABELS.get(entry.status, "") if entry else "",
                    "部署": entry.department.name if entry else "",
                    "質問": hit.question,
                }
            )
        best = qa_store.get_entry(session, result.hits[0].id) if result.hits else None
        best_answer = (best.answer, list(best.links or [])) if best else None
    if rows:
        st.dataframe(rows, hide_index=True, width="stretch")
    else:
        st.info("一致するQAはありません。")
    if best_answer and result.decision == "answer":
        st.markdown("**住民に表示される回答**")
        answer_preview(*best_answer)
