"""The staff console in real Chromium against the real bot: a 部署管理者 logs in, changes the
answer of a published QA in the console, and the bot's REST webhook answers with the new text
within seconds (the action server notices the change in the store; nothing is restarted).

Two real flows: saving a published QA directly, and withdrawing it to a draft, editing it and
publishing it again."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from qa_data import accounts, editing, qa_store
from qa_data.db import get_engine, session_scope
from qa_data.models import Role
from qa_data.permissions import SYSTEM_ACTOR
from tests.admin.console_browser_helpers import (
    Console,
    choose_option,
    desktop_page,
    failure_screenshot,
    start_console,
    wait_until_idle,
)
from tests.servers import TEST_QA, BotStack

pytestmark = [pytest.mark.browser, pytest.mark.servers]

PASSWORD = "Kanri2026madoguchi"
# Published QAs that no bot conversation test depends on.
SEEDED = {row[0]: {"department": row[1], "question": row[4], "answer": row[6]} for row in TEST_QA}
SAVED_ID = "T-0004"  # 市民課: マイナンバーカードを申請したい
REPUBLISHED_ID = "T-0006"  # 子育て支援課: 児童手当を申請したい
REACH_BOT_SECONDS = 10.0
ERROR_TEXT = "システムに不具合"


@pytest.fixture(scope="module")
def console(bot_stack: BotStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    console = start_console(bot_stack.database_url, tmp_path_factory.mktemp("console"))
    try:
        yield console
    finally:
        console.stop()


@pytest.fixture
def staff_login(bot_stack: BotStack) -> str:
    """A 部署管理者 of both QAs' departments, created through the service layer."""
    login_id = f"kanri{uuid.uuid4().hex[:8]}"
    with session_scope(bot_stack.database_url) as session:
        accounts.create_user(
            session,
            SYSTEM_ACTOR,
            login_id=login_id,
            display_name="窓口 管理者",
            password=PASSWORD,
            role=Role.DEPARTMENT_ADMIN,
            department_names=[SEEDED[SAVED_ID]["department"], SEEDED[REPUBLISHED_ID]["department"]],
            must_change_password=False,
        )
    return login_id


@pytest.fixture
def restore_seeded(bot_stack: BotStack) -> Iterator[Callable[[str], int]]:
    """Later bot tests share the store: the QAs a test changes are put back as seeded. Returns
    the entry's current version."""
    touched: list[str] = []

    def touch(qa_id: str) -> int:
        touched.append(qa_id)
        with session_scope(bot_stack.database_url) as session:
            return qa_store.get_entry(session, qa_id).version

    yield touch
    with session_scope(bot_stack.database_url) as session:
        for qa_id in touched:
            editing.update_entry(
                session,
                SYSTEM_ACTOR,
                qa_id,
                {"answer": SEEDED[qa_id]["answer"], "status": "published"},
                expected_version=None,
            )
    get_engine(bot_stack.database_url).dispose()


# --- the bot --------------------------------------------------------------------------------


def answers(reply: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m["custom"] for m in reply if (m.get("custom") or {}).get("type") == "answer"]


def answered_with(reply: list[dict[str, Any]], qa_id: str, text: str | None = None) -> bool:
    return any(a["qa_id"] == qa_id and (text is None or text in a["html"]) for a in answers(reply))


def ask_until(
    bot_stack: BotStack, question: str, done: Callable[[list[dict[str, Any]]], bool]
) -> list[dict[str, Any]]:
    """Ask in new conversations until ``done(reply)``; the last reply after REACH_BOT_SECONDS."""
    deadline = time.monotonic() + REACH_BOT_SECONDS
    while True:
        reply = bot_stack.chat(bot_stack.new_sender(), question)
        if done(reply) or time.monotonic() > deadline:
            return reply
        time.sleep(0.5)


def server_logs(bot_stack: BotStack) -> str:
    return (
        f"--- action server log ---\n{bot_stack.action_log()[-6000:]}\n"
        f"--- rasa log ---\n{bot_stack.rasa_log()[-3000:]}"
    )


def new_answer_text(qa_id: str) -> tuple[str, str]:
    """A natural answer that still matches the question, with a unique marker."""
    token = uuid.uuid4().hex[:8]
    question = SEEDED[qa_id]["question"].removesuffix("を申請したい")
    return f"{question}は、窓口またはオンラインで申請できます（案内番号 {token}）。", token


# --- the console ----------------------------------------------------------------------------


def log_in_and_open(page, console: Console, login_id: str, qa_id: str, heading: str) -> None:
    page.goto(console.url)
    page.get_by_label("ログインID").fill(login_id)
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    expect(page.get_by_role("heading", name="QA管理")).to_be_visible()
    wait_until_idle(page)
    choose_option(page, "編集するQA", qa_id)
    expect(page.get_by_role("heading", name=heading)).to_be_visible()


def replace_answer(page, old: str, new: str) -> None:
    # While Streamlit reruns, the previous entry's widgets stay on the page: wait for this one's.
    answer_box = page.get_by_role("textbox", name="回答（Markdown）")
    expect(answer_box).to_have_count(1)
    expect(answer_box).to_have_value(old)
    answer_box.fill(new)
    answer_box.press("Control+Enter")  # commits the text area: the preview shows it
    expect(page.locator(".madoguchi-answer").filter(has_text=new)).to_be_visible()
    wait_until_idle(page)


def click_and_see(page, button: str, message: str, heading: str) -> None:
    page.get_by_role("button", name=button, exact=True).click()
    expect(page.get_by_text(message)).to_be_visible()
    expect(page.get_by_role("heading", name=heading)).to_be_visible()
    wait_until_idle(page)


@pytest.fixture
def page(request: pytest.FixtureRequest, browser):
    """A Chromium page; when the test fails, a screenshot goes to test-output/screenshots/."""
    failed_before = request.session.testsfailed
    with desktop_page(browser) as page:
        yield page
        # The test's own report is counted before its fixtures are torn down.
        if request.session.testsfailed > failed_before:
            print(f"screenshot: {failure_screenshot(page, request.node.name)}")


# --- tests ----------------------------------------------------------------------------------


def test_saved_answer_reaches_the_bot(
    bot_stack: BotStack, console: Console, staff_login: str, restore_seeded, page
) -> None:
    qa_id, seeded = SAVED_ID, SEEDED[SAVED_ID]
    version = restore_seeded(qa_id)
    reply = bot_stack.chat(bot_stack.new_sender(), seeded["question"])
    assert answered_with(reply, qa_id, seeded["answer"]), f"{reply}\n{server_logs(bot_stack)}"
    new_answer, token = new_answer_text(qa_id)

    log_in_and_open(page, console, staff_login, qa_id, f"{qa_id}（公開中・版 {version}）")
    replace_answer(page, seeded["answer"], new_answer)
    click_and_see(page, "保存", "保存しました。", f"{qa_id}（公開中・版 {version + 1}）")

    reply = ask_until(bot_stack, seeded["question"], lambda r: answered_with(r, qa_id, token))
    assert answered_with(reply, qa_id, token), f"{reply}\n{server_logs(bot_stack)}"


def test_withdrawn_edited_and_republished_answer_reaches_the_bot(
    bot_stack: BotStack, console: Console, staff_login: str, restore_seeded, page
) -> None:
    qa_id, seeded = REPUBLISHED_ID, SEEDED[REPUBLISHED_ID]
    version = restore_seeded(qa_id)
    new_answer, token = new_answer_text(qa_id)

    log_in_and_open(page, console, staff_login, qa_id, f"{qa_id}（公開中・版 {version}）")
    click_and_see(
        page, "公開を取り下げて下書きに戻す", "公開を取り下げました。", f"{qa_id}（下書き・版"
    )
    reply = ask_until(bot_stack, seeded["question"], lambda r: not answered_with(r, qa_id))
    assert not answered_with(reply, qa_id), f"a draft was answered: {reply}"
    assert ERROR_TEXT not in str(reply), f"{reply}\n{server_logs(bot_stack)}"

    # The status in the entry's label changed: the console must still edit the same entry.
    replace_answer(page, seeded["answer"], new_answer)
    click_and_see(page, "公開する", "公開しました。", f"{qa_id}（公開中・版")

    reply = ask_until(bot_stack, seeded["question"], lambda r: answered_with(r, qa_id, token))
    assert answered_with(reply, qa_id, token), f"{reply}\n{server_logs(bot_stack)}"
