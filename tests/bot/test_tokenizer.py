"""The Sudachi tokenizer component, run inside the real Rasa venv (Python 3.10, Rasa 3.6)."""

from __future__ import annotations

import pytest

from tests.servers import run_in_rasa_venv

SCRIPT = r"""
import json, sys
from nlu.tokenizer import SudachiTokenizer
from rasa.shared.nlu.training_data.message import Message

tokenizer = SudachiTokenizer({**SudachiTokenizer.get_default_config()})
out = {}
for key, text in json.loads(sys.stdin.read()).items():
    message = Message({"text": text})
    tokenizer.process([message])
    tokens = message.get("text_tokens") or []
    out[key] = [[t.text, t.start, t.end] for t in tokens]
print(json.dumps(out, ensure_ascii=False))
"""

TEXTS = {
    "halfwidth": "ｱｲﾛﾝは何ごみ？",
    "mixed": "マイナンバーカードを申請したい　ABCＤ 123 ok",
    "empty": "",
    "spaces": "   ",
    "emoji": "😀😀🇯🇵",
    "long": "住民票の写しを取りたいです。" * 360,
    "no_sentence_end": "あ" * 20000,
}


@pytest.fixture(scope="module")
def tokens() -> dict[str, list[list]]:
    return run_in_rasa_venv(SCRIPT, TEXTS)


def _check_offsets(text: str, tokens: list[list]) -> None:
    previous_end = 0
    for _, start, end in tokens:
        assert 0 <= start < end <= len(text)
        assert start >= previous_end
        assert text[start:end].strip()
        previous_end = end


def test_normalized_forms_with_original_offsets(tokens: dict) -> None:
    halfwidth = tokens["halfwidth"]
    assert halfwidth[0] == ["アイロン", 0, 4]  # normalised text, offsets of ｱｲﾛﾝ
    _check_offsets(TEXTS["halfwidth"], halfwidth)


def test_mixed_scripts(tokens: dict) -> None:
    mixed = tokens["mixed"]
    texts = [t[0] for t in mixed]
    assert "マイナンバーカード" in texts and "申請" in texts and "ABCD" in texts and "123" in texts
    _check_offsets(TEXTS["mixed"], mixed)


def test_empty_and_whitespace(tokens: dict) -> None:
    assert tokens["empty"] == []
    assert tokens["spaces"] == []


def test_emoji_only(tokens: dict) -> None:
    assert tokens["emoji"], "emoji-only input must still give a token"
    _check_offsets(TEXTS["emoji"], tokens["emoji"])


@pytest.mark.parametrize("key", ["long", "no_sentence_end"])
def test_long_input(tokens: dict, key: str) -> None:
    text = TEXTS[key]
    assert len(text) >= 5000
    _check_offsets(text, tokens[key])
    assert tokens[key][-1][2] == len(text)
