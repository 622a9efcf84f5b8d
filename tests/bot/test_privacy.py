"""Personal data is masked before logs are stored (bot/privacy.py)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from bot.privacy import mask_personal_data

NO_EXTRA = SimpleNamespace(privacy=SimpleNamespace(extra_patterns=[], banned_words=[]))


@pytest.mark.parametrize(
    ("text", "secret", "label"),
    [
        ("電話は090-1234-5678です", "1234-5678", "[電話番号]"),
        ("０３－１２３４－５６７８に電話しました", "５６７８", "[電話番号]"),
        ("03(1234)5678", "5678", "[電話番号]"),
        ("連絡先 0312345678", "0312345678", "[電話番号]"),
        ("mail: taro.yamada@example.co.jp まで", "taro.yamada", "[メールアドレス]"),
        ("マイナンバーは123456789012です", "123456789012", "[個人番号]"),
        ("番号 1234 5678 9012", "5678", "[個人番号]"),
        ("〒514-0001 です", "514-0001", "[郵便番号]"),
        ("住所は緑町3丁目5番2号です", "3丁目5番2号", "[住所]"),
        ("緑町1-2-3に住んでいます", "1-2-3", "[住所]"),
        ("123番地の4", "123番地", "[住所]"),
        ("生年月日は1985年4月1日です", "1985年4月1日", "[生年月日]"),
        ("昭和60年4月1日生まれ", "昭和60年", "[生年月日]"),
        ("2000/01/02生まれ", "2000/01/02", "[生年月日]"),
    ],
)
def test_personal_data_is_masked(text: str, secret: str, label: str) -> None:
    masked, count = mask_personal_data(text, NO_EXTRA)
    assert secret not in masked
    assert label in masked
    assert count >= 1


@pytest.mark.parametrize(
    "text",
    [
        "住民票の写しを取りたい",
        "4月1日から保育園に入れますか",
        "ごみの日はいつ？",
        "粗大ごみは300円ですか",
        "",
    ],
)
def test_ordinary_questions_are_unchanged(text: str) -> None:
    assert mask_personal_data(text, NO_EXTRA) == (text, 0)


def test_extra_patterns_and_banned_words_from_config() -> None:
    settings = SimpleNamespace(
        privacy=SimpleNamespace(extra_patterns=[r"受付番号\d+", "[broken"], banned_words=["ばか"])
    )
    masked, count = mask_personal_data("受付番号12345の件です。ばか", settings)
    assert masked == "[個人情報]の件です。[禁止語]"
    assert count == 2
