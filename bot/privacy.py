"""Masking of personal data before anything a resident typed is stored.

``mask_personal_data(text)`` replaces, in this order: e-mail addresses, 12-digit 個人番号
(My Number), dates of birth (any full date with a year: 1985年4月1日, 昭和60年4月1日, 1985/4/1,
S60.4.1), postal codes (〒123-4567, 123-4567), phone numbers (03-1234-5678, 090 1234 5678,
0312345678, +81 90-…), address-like strings (…丁目…番…号, 1-2-3, …番地), then the operator's
extra regular expressions and banned words from ``config.yml`` (``madoguchi.privacy``).
Full-width digits and hyphens are recognised too. Each hit becomes a bracketed placeholder such as
``[電話番号]`` so staff can still read what kind of question it was.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

_D = r"[0-9０-９]"
_HC = r"\-‐－―ー−–—ｰ"  # hyphen-like characters residents type
_H = rf"[{_HC}]"
_SP = r"[ 　]?"

# Order matters: longer, more specific shapes first so that their digits are not half-eaten.
_BASE_PATTERNS: list[tuple[str, str]] = [
    (
        "[メールアドレス]",
        r"[A-Za-z0-9._%+\-ａ-ｚＡ-Ｚ０-９]+[@＠][A-Za-z0-9\-ａ-ｚＡ-Ｚ０-９]+"
        r"(?:[.．][A-Za-z0-9\-ａ-ｚＡ-Ｚ０-９]+)+",
    ),
    # 個人番号: 12 digits, optionally grouped 4-4-4.
    ("[個人番号]", rf"(?<!{_D}){_D}{{4}}(?:{_H}|{_SP}){_D}{{4}}(?:{_H}|{_SP}){_D}{{4}}(?!{_D})"),
    ("[個人番号]", rf"(?<!{_D}){_D}{{12}}(?!{_D})"),
    # Dates with a year (dates of birth): western and Japanese era forms.
    (
        "[生年月日]",
        rf"(?:明治|大正|昭和|平成|令和|[MTSHRmtshr]){_SP}(?:{_D}{{1,2}}|元){_SP}"
        rf"(?:年|[./／．{_HC}]){_SP}{_D}{{1,2}}{_SP}(?:月|[./／．{_HC}]){_SP}"
        rf"{_D}{{1,2}}日?",
    ),
    (
        "[生年月日]",
        rf"(?<!{_D})(?:19|20|１９|２０){_D}{{2}}{_SP}(?:年|[./／．{_HC}]){_SP}{_D}{{1,2}}{_SP}"
        rf"(?:月|[./／．{_HC}]){_SP}{_D}{{1,2}}日?",
    ),
    # Postal codes.
    ("[郵便番号]", rf"〒{_SP}{_D}{{3}}{_H}?{_D}{{4}}"),
    ("[郵便番号]", rf"(?<!{_D}){_D}{{3}}{_H}{_D}{{4}}(?!{_D}|{_H})"),
    # Phone numbers: 0X-XXXX-XXXX, 0XX-XXX-XXXX, 0X0-XXXX-XXXX, +81, or 10-11 digits in a row.
    (
        "[電話番号]",
        rf"(?:\+81|＋８１){_SP}{_H}?{_SP}{_D}{{1,4}}(?:{_H}|{_SP}){_D}{{1,4}}(?:{_H}|{_SP}){_D}{{3,4}}",
    ),
    (
        "[電話番号]",
        rf"(?<!{_D})[0０]{_D}{{1,4}}(?:{_H}|{_SP}|[(（]){_D}{{1,4}}(?:{_H}|{_SP}|[)）]){_D}{{3,4}}(?!{_D})",
    ),
    ("[電話番号]", rf"(?<!{_D})[0０]{_D}{{9,10}}(?!{_D})"),
    # Address-like strings: a place name followed by block numbers.
    (
        "[住所]",
        rf"[一-龥ぁ-んァ-ヶ々]{{0,12}}?(?:{_D}+|[一二三四五六七八九十]+){_SP}丁目"
        rf"(?:{_SP}{_D}+{_SP}(?:番地?|{_H})(?:{_SP}{_D}+{_SP}号?)?)?",
    ),
    ("[住所]", rf"[一-龥ぁ-んァ-ヶ々]{{0,12}}?{_D}+{_SP}番地(?:{_SP}の?{_SP}{_D}+{_SP}号?)?"),
    ("[住所]", rf"[一-龥ぁ-んァ-ヶ々]{{0,12}}?{_D}+{_SP}番{_SP}{_D}+{_SP}号"),
    ("[住所]", rf"(?<!{_D}){_D}{{1,4}}{_H}{_D}{{1,4}}{_H}{_D}{{1,4}}(?!{_D})"),
]


@lru_cache(maxsize=16)
def _compiled(extra: tuple[str, ...], banned: tuple[str, ...]) -> list[tuple[str, re.Pattern]]:
    patterns = [(label, re.compile(pattern)) for label, pattern in _BASE_PATTERNS]
    for pattern in extra:
        try:
            patterns.append(("[個人情報]", re.compile(pattern)))
        except re.error:
            # A broken operator pattern must not stop logging; it is ignored.
            continue
    words = sorted((w for w in banned if w), key=len, reverse=True)
    if words:
        patterns.append(("[禁止語]", re.compile("|".join(re.escape(w) for w in words))))
    return patterns


def _privacy_config(settings: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
    if settings is None:
        try:
            from qa_data.settings import get_settings

            settings = get_settings()
        except Exception:
            return (), ()
    privacy = getattr(settings, "privacy", None)
    if privacy is None:
        return (), ()
    return tuple(privacy.extra_patterns or ()), tuple(privacy.banned_words or ())


def mask_personal_data(text: str | None, settings: Any = None) -> tuple[str, int]:
    """Return ``(masked_text, number_of_replacements)``."""
    if not text:
        return "", 0
    extra, banned = _privacy_config(settings)
    count = 0
    for label, pattern in _compiled(extra, banned):
        text, n = pattern.subn(label, text)
        count += n
    return text, count
