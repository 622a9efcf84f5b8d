"""Streamlit AppTest for every console page, against a real seeded store."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from admin_ui import auth
from qa_data import accounts, editing, qa_store
from qa_data.chat_log import record_query
from qa_data.db import session_scope
from qa_data.models import (
    AppSetting,
    Attachment,
    AuditLog,
    GarbageItem,
    SynonymGroup,
    UnansweredHandling,
)
from tests.admin.apptest_pages import ADMIN_UI, open_page

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100


def texts(at: AppTest) -> str:
    parts = [
        e.value
        for kind in (
            "title",
            "markdown",
            "caption",
            "info",
            "success",
            "error",
            "warning",
            "subheader",
        )
        for e in getattr(at, kind)
    ]
    return "\n".join(str(p) for p in parts)


def frame_text(at: AppTest) -> str:
    return "\n".join(df.value.to_csv() for df in at.dataframe)


def entry(external_id: str):
    with session_scope() as session:
        return qa_store.get_entry(session, external_id)


def test_login_form_logs_in_and_shows_the_qa_page(seeded_sqlite):
    at = open_page("app.py", None)
    assert "ログインID" in [t.label for t in at.text_input]
    at.text_input(key="login_id_input").input("shimin_editor")
    at.text_input(key="login_password_input").input("wrong-password-1")
    at.button[0].click().run()
    assert "ログインIDまたはパスワードが正しくありません。" in [e.value for e in at.error]
    at.text_input(key="login_id_input").input("shimin_editor")
    at.text_input(key="login_password_input").input(seeded_sqlite.password)
    at.button[0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert "QA管理" in [t.value for t in at.title]
    assert "MD-0001" in frame_text(at)
    with session_scope() as session:
        actions = [a.action for a in session.scalars(select(AuditLog).order_by(AuditLog.id))]
    assert actions[-2:] == ["login_failed", "login"]


def test_pages_require_login(seeded_sqlite):
    at = open_page("pages/qa.py", None)
    assert "ログインID" in [t.label for t in at.text_input]
    assert not at.dataframe


def test_session_times_out(seeded_sqlite):
    at = AppTest.from_file(str(ADMIN_UI / "pages/qa.py"), default_timeout=120)
    state = auth.logged_in_state("shimin_editor")
    state[auth.ACTIVITY_KEY] -= 31 * 60
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    assert any("操作がなかったため" in i.value for i in at.info)
    assert not at.dataframe


def test_qa_page_lists_edits_previews_and_publishes(seeded_sqlite):
    at = open_page("pages/qa.py", "shimin_admin")
    table = frame_text(at)
    assert "MD-0001" in table and "住民票の写しがほしい" in table and "MD-0003" in table
    at.text_input(key="qa_filter_text").input("印鑑").run()
    assert "MD-0002" in frame_text(at) and "MD-0001" not in frame_text(at)
    at.selectbox(key="qa_choice").set_value("MD-0002").run()
    answer = at.text_area(key="edit_MD-0002_1_answer")
    answer.input("**本人**が窓口で登録します。\n\n- 印鑑\n- 本人確認書類").run()
    assert any("<strong>本人</strong>" in h.proto.body for h in at.html)
    at.button(key="qa_save").click().run()
    assert not at.exception
    saved = entry("MD-0002")
    assert saved.answer.startswith("**本人**") and saved.version == 2
    assert saved.updated_by == "shimin_admin"
    at.button(key="qa_publish").click().run()
    assert entry("MD-0002").status.value == "published"
    assert "公開しました。数秒でチャットボットに反映されます。" in texts(at)


def test_qa_page_create_attach_history_restore(seeded_sqlite):
    at = open_page("pages/qa.py", "shimin_editor")
    at.selectbox(key="qa_choice").set_value("＋ 新しいQAを作成").run()
    at.text_input(key="new_question").input("転入届の出し方")
    at.text_area(key="new_answer").input("転入から14日以内に市民課へ。")
    at.button(key="new_create").click().run()
    assert not at.exception, [e.value for e in at.exception]
    with session_scope() as session:
        created = [e for e in editing.list_entries(session, text="転入届")]
    assert len(created) == 1 and created[0].status.value == "draft"
    new_id = created[0].external_id
    assert at.selectbox(key="qa_choice").value == new_id
    at.file_uploader(key=f"upload_{new_id}").set_value(("地図.png", PNG, "image/png"))
    at.run()
    at.button(key="att_add").click().run()
    with session_scope() as session:
        files = session.scalars(select(Attachment)).all()
        assert [(f.filename, f.content_type) for f in files] == [("地図.png", "image/png")]
    # Edit twice, then restore version 1 through the history tab.
    at.text_area(key=f"edit_{new_id}_1_answer").input("二番目の回答").run()
    at.button(key="qa_save").click().run()
    assert entry(new_id).answer == "二番目の回答"
    at.run()
    assert "二番目の回答" in "\n".join(c.value for c in at.code)  # the diff
    at.selectbox(key=f"restore_{new_id}").set_value(1).run()
    at.button(key="qa_restore_version").click().run()
    assert entry(new_id).answer == "転入から14日以内に市民課へ。"
    assert entry(new_id).version == 3


def test_qa_page_conflict_shows_both_and_merges(seeded_sqlite):
    at = open_page("pages/qa.py", "shimin_admin")
    at.selectbox(key="qa_choice").set_value("MD-0002").run()
    at.text_area(key="edit_MD-0002_1_answer").input("管理者の回答").run()
    # Meanwhile another editor saves a different question text.
    with session_scope() as session:
        editing.update_entry(
            session,
            seeded_sqlite.users["shimin_editor"],
            "MD-0002",
            {"question": "印鑑登録のしかた（編集者）", "answer": "編集者の回答"},
            expected_version=1,
        )
    at.button(key="qa_save").click().run()
    assert not at.exception
    page = texts(at)
    assert "他の人がこのQAを保存しました" in page
    code = "\n".join(c.value for c in at.code)
    assert "管理者の回答" in code and "編集者の回答" in code
    assert entry("MD-0002").answer == "編集者の回答"  # nothing overwritten yet
    at.radio(key="merge_answer").set_value("あなたの変更").run()
    at.button(key="merge_save").click().run()
    merged = entry("MD-0002")
    assert merged.answer == "管理者の回答"
    assert merged.question == "印鑑登録のしかた（編集者）"  # the other person's change is kept
    assert merged.version == 3


def test_editor_cannot_change_published_or_other_departments(seeded_sqlite):
    at = open_page("pages/qa.py", "kosodate_editor")
    at.selectbox(key="qa_choice").set_value("MD-0001").run()  # another department, published
    assert at.button(key="qa_save").disabled
    at.selectbox(key="qa_choice").set_value("MD-0002").run()  # another department, draft
    assert at.button(key="qa_save").disabled
    assert "このQAを変更する権限がありません（表示のみ）。" in texts(at)
    at.selectbox(key="qa_choice").set_value("MD-0004").run()  # own department, published
    assert at.button(key="qa_save").disabled
    assert "編集者は下書きを編集できます" in texts(at)
    at.selectbox(key="qa_choice").set_value("MD-0003").run()  # own department, draft
    assert not at.button(key="qa_save").disabled


def test_unanswered_page_groups_and_handles(seeded_sqlite):
    with session_scope() as session:
        for i, text in enumerate(
            ["住民票の写しがほしい", "住民票を取りたい", "住民票はどこで取れますか"]
        ):
            record_query(session, session_id=f"s{i}", text=text, decision="no_match")
        record_query(session, session_id="x", text="こんにちは", decision="no_match")
    at = open_page("pages/unanswered.py", "shimin_admin")
    labels = [e.label for e in at.expander]
    assert any(label.startswith("3件｜住民票") for label in labels), labels
    index = next(i for i, label in enumerate(labels) if "こんにちは" in label)
    at.button(key=f"ua_ignore_{index}").click().run()
    index = next(i for i, e in enumerate(at.expander) if "住民票" in e.label)
    at.selectbox(key=f"ua_target_{index}").set_value("MD-0001")
    at.button(key=f"ua_add_{index}").click().run()
    assert not at.exception
    assert "住民票を取りたい" in entry("MD-0001").alternate_questions
    with session_scope() as session:
        handled = session.scalars(select(UnansweredHandling)).all()
        assert sorted(h.action for h in handled) == ["add_alternate", "ignored"]
    assert not any("住民票" in e.label for e in at.expander if "｜" in e.label)


def test_preview_page_ranks_drafts(seeded_sqlite):
    at = open_page("pages/preview.py", "viewer")
    at.text_input(key="preview_question").input("印鑑登録をしたい").run()
    assert not at.exception, [e.value for e in at.exception]
    assert "MD-0002" in frame_text(at)  # a draft
    assert any(s.value.startswith("判定:") for s in at.subheader)


def test_import_export_page(seeded_sqlite):
    at = open_page("pages/import_export.py", "admin")
    at.button(key="export_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert "4件を書き出しました。" in texts(at)
    name, data, count = at.session_state["export_file"]
    assert name.endswith(".xlsx") and count == 4 and data[:2] == b"PK"
    csv_text = (
        "ID,質問,回答,部署\n"
        "MD-0009,ごみ袋の値段,1枚30円です。,市民課\n"
        "MD-0001,住民票の写しがほしい,窓口かコンビニで。,市民課\n"
    )
    at.file_uploader(key="import_file").set_value(("qa.csv", csv_text.encode(), "text/csv"))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert [m.value for m in at.metric][:2] == ["1", "1"]
    assert entry("MD-0009") is None  # preview only
    at.button(key="import_confirm").click().run()
    assert entry("MD-0009").answer == "1枚30円です。"
    assert entry("MD-0001").answer == "窓口かコンビニで。"


def test_import_refuses_other_departments_for_department_admins(seeded_sqlite):
    at = open_page("pages/import_export.py", "kosodate_admin")
    csv_text = "ID,質問,回答,部署\nMD-0001,住民票の写しがほしい,乗っ取り,市民課\n"
    at.file_uploader(key="import_file").set_value(("qa.csv", csv_text.encode(), "text/csv"))
    at.run()
    assert any("担当していない部署" in e.value for e in at.error)
    assert not [b for b in at.button if b.key == "import_confirm"]


def test_synonyms_page(seeded_sqlite):
    at = open_page("pages/synonyms.py", "shimin_admin")
    at.text_area(key="syn_terms_0").input("粗大ごみ\nそだいごみ\n大型ごみ")
    at.button(key="syn_save").click().run()
    with session_scope() as session:
        group = session.scalar(select(SynonymGroup))
        assert group.terms == ["粗大ごみ", "そだいごみ", "大型ごみ"]
    assert "粗大ごみ、そだいごみ、大型ごみ" in frame_text(at)


def test_garbage_page(seeded_sqlite):
    at = open_page("pages/garbage.py", "shimin_admin")
    at.text_input(key="garbage_name_0").input("アイロン")
    at.text_input(key="garbage_reading_0").input("あいろん")
    at.text_input(key="garbage_category_0").input("不燃ごみ")
    at.button(key="garbage_save").click().run()
    with session_scope() as session:
        item = session.scalar(select(GarbageItem))
        assert (item.name, item.category) == ("アイロン", "不燃ごみ")
    assert "アイロン" in frame_text(at)
    viewer = open_page("pages/garbage.py", "viewer")
    assert not [b for b in viewer.button if b.key == "garbage_save"]


def test_users_page_adds_a_user_and_is_for_admins_only(seeded_sqlite):
    denied = open_page("pages/users.py", "shimin_admin")
    assert any("システム管理者" in e.value for e in denied.error)
    assert not denied.dataframe
    at = open_page("pages/users.py", "admin")
    assert "kosodate_editor" in frame_text(at)
    form = at.get("form")[0]
    form.text_input[0].input("newcomer")
    form.text_input[1].input("新人 花子")
    form.multiselect[0].set_value(["子育て支援課"])
    form.text_input[2].input("Welcome2026xyz")
    form.button[0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    with session_scope() as session:
        user = accounts.get_user(session, "newcomer")
        assert user.role.value == "editor" and [d.name for d in user.departments] == [
            "子育て支援課"
        ]


def test_audit_log_page(seeded_sqlite):
    with session_scope() as session:
        accounts.authenticate(session, "viewer", "bad-guess-123x")
    at = open_page("pages/audit_log.py", "admin")
    table = frame_text(at)
    assert "ログイン失敗" in table and "viewer" in table and "ユーザー作成" in table
    assert at.get("download_button")


def test_widget_settings_page(seeded_sqlite):
    at = open_page("pages/widget_settings.py", "admin")
    at.text_input(key="w_title").input("みどり市 なんでも窓口")
    at.text_area(key="w_suggested").input("ごみの出し方\n住民票")
    at.button(key="w_save").click().run()
    assert not at.exception, [e.value for e in at.exception]
    with session_scope() as session:
        value = session.get(AppSetting, "widget").value
    assert value["title"] == "みどり市 なんでも窓口"
    assert value["suggested_questions"] == ["ごみの出し方", "住民票"]
    assert value["colors"]["primary"].startswith("#")


def test_account_page_changes_password(seeded_sqlite):
    at = open_page("pages/account.py", "viewer")
    form = at.get("form")[0]
    form.text_input[0].input(seeded_sqlite.password)
    form.text_input[1].input("Brandnew2026pw")
    form.text_input[2].input("Brandnew2026pw")
    form.button[0].click().run()
    assert "パスワードを変更しました。" in texts(at)
    with session_scope() as session:
        assert accounts.authenticate(session, "viewer", "Brandnew2026pw").ok


@pytest.mark.parametrize("login_id", ["admin", "viewer"])
def test_navigation_depends_on_role(seeded_sqlite, login_id):
    at = open_page("app.py", login_id)
    assert "QA管理" in [t.value for t in at.title]
