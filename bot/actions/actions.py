"""The custom actions: FAQ answers, candidates, follow-ups, garbage, menu, handoff, restart, logs.

Message shapes follow the bot ↔ widget contract: answers and contacts are ``custom`` payloads
(``{"type": "answer", ...}``, ``{"type": "contact", ...}``); candidates, menu, feedback and
garbage choices are ``buttons`` whose payloads use Rasa's ``/intent{json}`` grammar.

Every action logs the resident's message (masked) through ``qa_data.chat_log`` and never lets an
exception escape: on any error it sends the fixed apology and the general contact.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import Restarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions import services

logger = logging.getLogger(__name__)

MAX_MENU_BUTTONS = 12
MAX_GARBAGE_BUTTONS = 8
RELATED_ON_NO_MATCH = 3
RELATED_SCORE_FACTOR = 0.5


def payload(intent: str, **entities: Any) -> str:
    """``/intent{"key":"value"}`` as the widget contract spells it (no spaces, real UTF-8)."""
    if not entities:
        return f"/{intent}"
    return f"/{intent}" + json.dumps(entities, ensure_ascii=False, separators=(",", ":"))


def _entity(tracker: Tracker, name: str) -> Any:
    for entity in tracker.latest_message.get("entities") or []:
        if entity.get("entity") == name:
            return entity.get("value")
    return None


def _intent(tracker: Tracker) -> str | None:
    return (tracker.latest_message.get("intent") or {}).get("name")


def _as_bool(value: Any, default: bool) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.strip().lower() not in {"false", "0", "no", "いいえ"}
    return default if value is None else bool(value)


class _Turn:
    """One action run: the resident's message, a clock, and the common log fields."""

    def __init__(self, tracker: Tracker, kind: str) -> None:
        self.tracker = tracker
        self.started = time.perf_counter()
        self.text = (tracker.latest_message.get("text") or "").strip()
        self.kind = kind
        self.log: dict[str, Any] = {
            "session_id": tracker.sender_id,
            "channel": tracker.get_latest_input_channel() or "rest",
            "kind": kind,
            "text": self.text,
            "intent": _intent(tracker),
        }

    async def store(self, **fields: Any) -> int | None:
        record = {**self.log, **fields}
        record["response_ms"] = (time.perf_counter() - self.started) * 1000
        return await asyncio.to_thread(services.log_query, **record)


def _hits(result: Any) -> list[Any]:
    return list(getattr(result, "hits", None) or [])


def _settings_retrieval() -> Any:
    return services.settings().retrieval


async def send_error(dispatcher: CollectingDispatcher, turn: _Turn, error: BaseException) -> list:
    """The fixed apology with the general contact; the failure is logged without the text."""
    logger.exception("Action failed", exc_info=error)
    contact = services.contact_payload(None)
    dispatcher.utter_message(text=services.text("error") + "\n" + services.contact_text(contact))
    dispatcher.utter_message(json_message=contact)
    await turn.store(kind="error", decision="error", error=type(error).__name__)
    return [SlotSet("pending_candidates", None)]


def _worth_showing(hits: list[Any]) -> list[Any]:
    """Hits far below the no-match threshold are noise: they are neither offered as candidates
    or related questions nor pick the counter (「税金について」 must not list ごみの収集日)."""
    floor = _settings_retrieval().no_match_threshold * RELATED_SCORE_FACTOR
    return [hit for hit in hits if hit.score >= floor]


def _candidate_buttons(hits: list[Any]) -> list[dict[str, str]]:
    buttons = [
        {"title": hit.question, "payload": payload("select_qa", qa_id=hit.id)} for hit in hits
    ]
    buttons.append({"title": services.text("none_of_these_button"), "payload": "/none_of_these"})
    return buttons


async def send_answer(dispatcher: CollectingDispatcher, qa_id: str) -> dict[str, Any] | None:
    """Answer payload + feedback buttons. Returns the entry info, or None if not available."""
    info = await asyncio.to_thread(services.answer_payload, qa_id)
    if info is None:
        return None
    dispatcher.utter_message(json_message=info["payload"])
    dispatcher.utter_message(
        text=services.text("feedback_question"),
        buttons=[
            {
                "title": services.text("feedback_helpful_button"),
                "payload": payload("feedback", helpful=True, qa_id=qa_id),
            },
            {
                "title": services.text("feedback_unhelpful_button"),
                "payload": payload("feedback", helpful=False, qa_id=qa_id),
            },
        ],
    )
    return info


async def send_contact(
    dispatcher: CollectingDispatcher, department_id: int | None, lead: str | None = None
) -> dict[str, Any]:
    dept = await asyncio.to_thread(services.department, department_id)
    contact = services.contact_payload(dept)
    body = services.contact_text(contact)
    dispatcher.utter_message(text=f"{lead}\n{body}" if lead else body)
    dispatcher.utter_message(json_message=contact)
    return contact


def _answer_slots(qa_id: str, info: dict[str, Any], query: str | None, shown: list[str]) -> list:
    dept = info.get("department") or {}
    return [
        SlotSet("last_qa_id", qa_id),
        SlotSet("last_department_id", dept.get("id")),
        SlotSet("last_query", query),
        SlotSet("shown_ids", shown),
        SlotSet("pending_candidates", None),
    ]


async def answer_search(
    dispatcher: CollectingDispatcher, tracker: Tracker, turn: _Turn, query: str
) -> list:
    """Run retrieval for ``query`` and reply according to its decision."""
    pending = tracker.get_slot("pending_candidates")
    context = tracker.get_slot("last_query") if pending else None
    result = await asyncio.to_thread(services.search, query, context=context)
    hits = _hits(result)
    decision = getattr(result, "decision", "no_match")
    combined = f"{context} {query}" if context else query
    top = [{"id": hit.id, "score": hit.score} for hit in hits]
    best = hits[0] if hits else None
    common = {
        "top_hits": top,
        "department_id": getattr(best, "department_id", None),
        "category": getattr(best, "category", None),
    }

    if decision == "answer" and best is not None:
        info = await send_answer(dispatcher, best.id)
        if info is not None:
            log_id = await turn.store(decision="answer", qa_shown=best.id, **common)
            return [
                *_answer_slots(best.id, info, combined, [best.id]),
                SlotSet("last_log_id", log_id),
            ]
        decision = "candidates"  # the entry vanished in between: let the resident choose

    k = _settings_retrieval().candidates_k
    if decision == "candidates" and hits:
        shown = _worth_showing(hits)[:k]
        dispatcher.utter_message(
            text=services.text("candidates"), buttons=_candidate_buttons(shown)
        )
        ids = [hit.id for hit in shown]
        log_id = await turn.store(decision="candidates", **common)
        return [
            SlotSet("last_query", combined),
            SlotSet("shown_ids", ids),
            SlotSet("pending_candidates", ids),
            SlotSet("last_log_id", log_id),
            SlotSet("last_department_id", getattr(best, "department_id", None)),
        ]

    # no_match: apology, a few related questions if any, and the responsible counter.
    dispatcher.utter_message(text=services.text("no_match"))
    related = _worth_showing(hits)[:RELATED_ON_NO_MATCH]
    best = related[0] if related else None
    if related:
        dispatcher.utter_message(
            text=services.text("related"),
            buttons=[
                {"title": hit.question, "payload": payload("select_qa", qa_id=hit.id)}
                for hit in related
            ],
        )
    await send_contact(dispatcher, getattr(best, "department_id", None))
    common["department_id"] = getattr(best, "department_id", None)
    log_id = await turn.store(decision="no_match", **common)
    return [
        SlotSet("last_query", combined),
        SlotSet("shown_ids", [hit.id for hit in related]),
        SlotSet("pending_candidates", None),
        SlotSet("last_log_id", log_id),
        SlotSet("last_department_id", getattr(best, "department_id", None)),
    ]


async def next_candidates_or_contact(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    turn: _Turn,
    lead: str | None,
    decision: str | None = None,
) -> list:
    """After 「どれでもない」/「解決しない」: next candidates not yet shown, else the contact."""
    query = tracker.get_slot("last_query")
    shown = list(tracker.get_slot("shown_ids") or [])
    retrieval = _settings_retrieval()
    fresh: list[Any] = []
    top: list[dict[str, Any]] = []
    if query:
        result = await asyncio.to_thread(
            services.search, query, top_k=len(shown) + retrieval.candidates_k * 2
        )
        hits = _hits(result)
        top = [{"id": hit.id, "score": hit.score} for hit in hits]
        fresh = [
            hit for hit in hits if hit.id not in shown and hit.score >= retrieval.no_match_threshold
        ][: retrieval.candidates_k]
    if fresh:
        text = services.text("next_candidates")
        dispatcher.utter_message(
            text=f"{lead}\n{text}" if lead else text, buttons=_candidate_buttons(fresh)
        )
        ids = [hit.id for hit in fresh]
        log_id = await turn.store(decision=decision or "candidates", top_hits=top)
        return [
            SlotSet("shown_ids", shown + ids),
            SlotSet("pending_candidates", ids),
            SlotSet("last_log_id", log_id),
        ]
    department_id = tracker.get_slot("last_department_id")
    await send_contact(dispatcher, department_id, lead=lead or services.text("feedback_sorry"))
    log_id = await turn.store(
        decision=decision or "no_match", top_hits=top, department_id=department_id
    )
    return [SlotSet("pending_candidates", None), SlotSet("last_log_id", log_id)]


class ActionAnswerFaq(Action):
    def name(self) -> str:
        return "action_answer_faq"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        turn = _Turn(tracker, "message")
        try:
            if not turn.text:
                dispatcher.utter_message(text=services.text("empty_message"))
                await turn.store(decision="dialogue")
                return []
            return await search_typed_question(dispatcher, tracker, turn)
        except Exception as error:
            return await send_error(dispatcher, turn, error)


async def search_typed_question(
    dispatcher: CollectingDispatcher, tracker: Tracker, turn: _Turn
) -> list[dict[str, Any]]:
    limit = services.settings().limits.question_chars
    return await answer_search(dispatcher, tracker, turn, turn.text[: max(limit, 1)])


class ActionSelectQa(Action):
    def name(self) -> str:
        return "action_select_qa"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        turn = _Turn(tracker, "select")
        try:
            qa_id = _entity(tracker, "qa_id")
            info = await send_answer(dispatcher, str(qa_id)) if qa_id else None
            if info is None and not turn.text.startswith("/"):
                # Typed, not a button: digits and hyphens (a phone number, a year) can make the
                # classifier pick select_qa. Naming no QA, the text is a question after all.
                return await search_typed_question(dispatcher, tracker, _Turn(tracker, "message"))
            if info is None:
                dispatcher.utter_message(text=services.text("unknown_qa"))
                await turn.store(decision="no_match", qa_selected=qa_id and str(qa_id))
                return [SlotSet("pending_candidates", None)]
            dept = info.get("department") or {}
            log_id = await turn.store(
                decision="answer",
                qa_shown=str(qa_id),
                qa_selected=str(qa_id),
                department_id=dept.get("id"),
                category=info.get("category"),
            )
            shown = list(tracker.get_slot("shown_ids") or [])
            if qa_id not in shown:
                shown.append(str(qa_id))
            return [
                *_answer_slots(str(qa_id), info, tracker.get_slot("last_query"), shown),
                SlotSet("last_log_id", log_id),
            ]
        except Exception as error:
            return await send_error(dispatcher, turn, error)


class ActionNoneOfThese(Action):
    def name(self) -> str:
        return "action_none_of_these"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        turn = _Turn(tracker, "none_of_these")
        try:
            return await next_candidates_or_contact(dispatcher, tracker, turn, lead=None)
        except Exception as error:
            return await send_error(dispatcher, turn, error)


class ActionFeedback(Action):
    def name(self) -> str:
        return "action_feedback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        turn = _Turn(tracker, "feedback")
        try:
            helpful = _as_bool(_entity(tracker, "helpful"), default=True)
            qa_id = _entity(tracker, "qa_id") or tracker.get_slot("last_qa_id")
            await asyncio.to_thread(
                services.log_feedback,
                session_id=tracker.sender_id,
                helpful=helpful,
                qa_external_id=qa_id and str(qa_id),
                query_log_id=tracker.get_slot("last_log_id"),
            )
            if helpful:
                dispatcher.utter_message(text=services.text("feedback_thanks"))
                await turn.store(decision="helpful", qa_shown=qa_id and str(qa_id))
                return [SlotSet("pending_candidates", None)]
            turn.log["qa_shown"] = qa_id and str(qa_id)
            turn.log["kind"] = "feedback"
            return await next_candidates_or_contact(
                dispatcher,
                tracker,
                turn,
                lead=services.text("feedback_sorry"),
                decision="not_helpful",
            )
        except Exception as error:
            return await send_error(dispatcher, turn, error)


# 〇〇は何ごみ？ / 〇〇の捨て方 / 〇〇を捨てたい → 〇〇
_GARBAGE_QUESTION = re.compile(
    r"^(?P<item>.+?)\s*(?:って|は|を|の|も|、|,)\s*"
    r"(?:何|なに|なん|どう|どこ|どの|どれ|いつ|捨て|すて|棄て|処分|処理|出し|だし|出せ|分別|ぶんべつ"
    r"|燃え|もえ|燃や|資源|粗大|不燃|可燃|ごみ|ゴミ|回収|収集)"
)
_GARBAGE_TRAILER = re.compile(r"[\s。、！？!?.]+$")


def garbage_item_query(text: str) -> str:
    cleaned = _GARBAGE_TRAILER.sub("", text.strip())
    match = _GARBAGE_QUESTION.match(cleaned)
    return (match["item"] if match else cleaned).strip(" 　「」『』\"'")


class ActionGarbage(Action):
    def name(self) -> str:
        return "action_garbage"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        turn = _Turn(tracker, "garbage")
        try:
            garbage_id = _entity(tracker, "garbage_id")
            if garbage_id is not None:
                item = await asyncio.to_thread(services.garbage_item, int(garbage_id))
                if item is not None:
                    self._send_item(dispatcher, item)
                    await turn.store(decision="garbage_match", category=item.get("category"))
                    return [SlotSet("pending_candidates", None)]
            query = garbage_item_query(turn.text) if garbage_id is None else ""
            if not query:
                dispatcher.utter_message(text=services.text("garbage_ask_item"))
                await turn.store(decision="garbage_unknown")
                return [SlotSet("pending_candidates", None)]
            kind, items = await asyncio.to_thread(services.garbage_lookup, query)
            if kind == "unknown" and query != turn.text:
                kind, items = await asyncio.to_thread(services.garbage_lookup, turn.text)
            if kind == "match" and items:
                self._send_item(dispatcher, items[0])
                await turn.store(decision="garbage_match", category=items[0].get("category"))
                return [SlotSet("pending_candidates", None)]
            if kind == "ambiguous" and items:
                dispatcher.utter_message(
                    text=services.text("garbage_ambiguous", query=query),
                    buttons=[
                        {
                            "title": item["name"],
                            "payload": payload("select_garbage", garbage_id=int(item["id"])),
                        }
                        for item in items[:MAX_GARBAGE_BUTTONS]
                    ],
                )
                await turn.store(decision="garbage_ambiguous")
                return [SlotSet("pending_candidates", None)]
            # Not in the dictionary: a QA entry may still answer it (粗大ごみの申し込み …).
            result = await asyncio.to_thread(services.search, turn.text)
            hits = _hits(result)
            if getattr(result, "decision", None) == "answer" and hits:
                turn.log["kind"] = "message"
                return await answer_search(dispatcher, tracker, turn, turn.text)
            dispatcher.utter_message(text=services.text("garbage_unknown", query=query))
            await send_contact(dispatcher, hits[0].department_id if hits else None)
            await turn.store(
                decision="garbage_unknown", top_hits=[{"id": h.id, "score": h.score} for h in hits]
            )
            return [SlotSet("pending_candidates", None)]
        except Exception as error:
            return await send_error(dispatcher, turn, error)

    @staticmethod
    def _send_item(dispatcher: CollectingDispatcher, item: dict[str, Any]) -> None:
        lines = [services.text("garbage_match", name=item["name"], category=item["category"])]
        if (item.get("how_to") or "").strip():
            lines.append(services.text("garbage_how_to", how_to=item["how_to"].strip()))
        if (item.get("notes") or "").strip():
            lines.append(services.text("garbage_notes", notes=item["notes"].strip()))
        dispatcher.utter_message(text="\n".join(lines))


class ActionMenu(Action):
    def name(self) -> str:
        return "action_menu"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        turn = _Turn(tracker, "menu")
        try:
            category = _entity(tracker, "category")
            subcategory = _entity(tracker, "subcategory")
            back = {"title": services.text("menu_back"), "payload": "/menu"}
            if not category or _intent(tracker) == "menu":
                categories = await asyncio.to_thread(services.menu_categories)
                if not categories:
                    dispatcher.utter_message(text=services.text("menu_empty"))
                else:
                    dispatcher.utter_message(
                        text=services.text("menu_categories"),
                        buttons=[
                            {"title": name, "payload": payload("menu_category", category=name)}
                            for name in categories
                        ],
                    )
                await turn.store(decision="menu")
                return [SlotSet("pending_candidates", None)]
            if not subcategory:
                subcategories = await asyncio.to_thread(services.menu_subcategories, category)
                if subcategories:
                    dispatcher.utter_message(
                        text=services.text("menu_subcategories", category=category),
                        buttons=[
                            {
                                "title": name,
                                "payload": payload(
                                    "menu_subcategory", category=category, subcategory=name
                                ),
                            }
                            for name in subcategories
                        ]
                        + [back],
                    )
                    await turn.store(decision="menu", category=category)
                    return [SlotSet("pending_candidates", None)]
            questions = await asyncio.to_thread(
                services.menu_questions, category, subcategory, MAX_MENU_BUTTONS
            )
            label = f"{category}／{subcategory}" if subcategory else category
            if not questions:
                dispatcher.utter_message(text=services.text("menu_empty"), buttons=[back])
            else:
                dispatcher.utter_message(
                    text=services.text("menu_questions", category=label),
                    buttons=[
                        {"title": q["question"], "payload": payload("select_qa", qa_id=q["id"])}
                        for q in questions
                    ]
                    + [back],
                )
            await turn.store(
                decision="menu", category="/".join(filter(None, [category, subcategory]))
            )
            return [SlotSet("pending_candidates", None)]
        except Exception as error:
            return await send_error(dispatcher, turn, error)


class ActionHandoff(Action):
    def name(self) -> str:
        return "action_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        turn = _Turn(tracker, "handoff")
        try:
            dispatcher.utter_message(text=services.text("handoff"))
            department_id = tracker.get_slot("last_department_id")
            dept = await asyncio.to_thread(services.department, department_id)
            if dept and dept.get("phone"):
                dispatcher.utter_message(
                    text=services.text(
                        "handoff_department",
                        name=dept["name"],
                        phone=dept["phone"],
                        hours=dept.get("hours") or services.general_contact()["hours"],
                    )
                )
                dispatcher.utter_message(json_message=services.contact_payload(dept))
            general = services.contact_payload(None)
            dispatcher.utter_message(text=services.contact_text(general))
            dispatcher.utter_message(json_message=general)
            await turn.store(decision="handoff", department_id=department_id)
            return [SlotSet("pending_candidates", None)]
        except Exception as error:
            return await send_error(dispatcher, turn, error)


class ActionLogMessage(Action):
    """Logs messages answered by a fixed response (greeting, thanks, out of scope, ...)."""

    def name(self) -> str:
        return "action_log_message"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        turn = _Turn(tracker, "dialogue")
        await turn.store(decision="dialogue")
        return [SlotSet("pending_candidates", None)]


class ActionRestart(Action):
    """「最初から」: replaces Rasa's built-in ``action_restart`` (listed under ``actions`` in the
    domain) so that the message is logged before ``Restarted`` clears the conversation."""

    def name(self) -> str:
        return "action_restart"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        turn = _Turn(tracker, "dialogue")
        dispatcher.utter_message(response="utter_restart")
        await turn.store(decision="dialogue")
        return [Restarted()]


class ActionWarmup(Action):
    """Not in the domain: ``madoguchi run`` and the tests call it once after start."""

    def name(self) -> str:
        return "action_warmup"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        status = await asyncio.to_thread(services.warm_up)
        dispatcher.utter_message(json_message={"type": "warmup", **status})
        return []
