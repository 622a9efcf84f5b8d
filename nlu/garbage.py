"""Garbage-sorting lookup (ごみ分別): find an item by name, reading or part of a name.

``GarbageIndex.from_store(url)`` reads ``GarbageItem`` rows; ``lookup(text)`` returns a
:class:`GarbageResult`:

- ``match``: one item (ｱｲﾛﾝ → アイロン, れいぞうこ → 冷蔵庫, 古いテレビ → テレビ);
- ``ambiguous``: several items fit equally well, typically variants of one name such as
  ``いす（木製）`` / ``いす（プラスチック製）``; the resident chooses;
- ``unknown``: nothing fits.

Names are compared after normalisation (NFKC, half-width, kana unified to katakana) and by their
Sudachi readings, so kanji, hiragana and katakana spellings meet. The text inside brackets is a
variant qualifier: items sharing the bracket-less *base name* are variants of one thing.
Matching goes from strict to loose: full name, base name or reading; a base name contained in
the question's nouns (longest wins); a question contained in base names (partial names); then
character-bigram similarity for typos.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from nlu.normalizer import (
    JapaneseNormalizer,
    char_ngrams,
    get_normalizer,
    normalize_text,
    to_katakana,
)

_BRACKETS = re.compile(r"[（(【\[［].*?[）)】\]］]")
_CONTENT_POS = frozenset({"名詞", "接尾辞", "接頭辞", "形状詞"})
MAX_ITEMS = 10


@dataclass(frozen=True)
class GarbageResult:
    kind: str  # "match" | "ambiguous" | "unknown"
    items: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "items": list(self.items)}


def _key(text: str) -> str:
    return to_katakana(normalize_text(text)).replace(" ", "")


def base_name(name: str) -> str:
    base = _BRACKETS.sub("", name or "").strip()
    return base or (name or "").strip()


class GarbageIndex:
    def __init__(
        self, items: Iterable[dict[str, Any]], normalizer: JapaneseNormalizer | None = None
    ) -> None:
        self.normalizer = normalizer or get_normalizer()
        self.items: list[dict[str, Any]] = [dict(i) for i in items]
        self._by_full: dict[str, list[int]] = {}
        self._by_base: dict[str, list[int]] = {}
        self._base_of: list[str] = []
        self._reading_of: list[str] = []
        for idx, item in enumerate(self.items):
            full = _key(item.get("name") or "")
            base = _key(base_name(item.get("name") or ""))
            reading = self._reading(base_name(item.get("name") or ""))
            self._by_full.setdefault(full, []).append(idx)
            self._by_base.setdefault(base, []).append(idx)
            if reading and reading != base:
                self._by_base.setdefault(reading, []).append(idx)
            # 冷蔵庫・冷凍庫・冷凍冷蔵庫: each listed name is an alias.
            parts = [p for p in re.split("[・、/／]", base_name(item.get("name") or "")) if p]
            if len(parts) > 1:
                for part in parts:
                    for alias in (_key(part), self._reading(part)):
                        if len(alias) >= 2:
                            self._by_base.setdefault(alias, []).append(idx)
            given = _key(item.get("reading") or "")
            if len(given) > 1 and given not in (
                base,
                reading,
            ):  # a one-kana 50音 index is no reading
                self._by_base.setdefault(given, []).append(idx)
            self._base_of.append(base)
            self._reading_of.append(reading)
        # Longest keys first for containment matching.
        self._keys = sorted((k for k in self._by_base if len(k) >= 2), key=len, reverse=True)
        self._grams = {k: set(char_ngrams(k, 2)) for k in self._keys}
        self.marker: Any = None
        self.url: str | None = None
        self._lock = threading.Lock()
        self._last_check = 0.0

    def _reading(self, text: str) -> str:
        return to_katakana(self.normalizer.reading(text)).replace(" ", "")

    # -- construction --------------------------------------------------------------------------
    @classmethod
    def from_store(cls, url: str | None = None) -> GarbageIndex:
        """Items from the store's ``garbage_items`` table; re-read when the table changes."""
        index = cls(_load_store_items(url))
        index.url = url
        index.marker = _store_marker(url)
        return index

    @classmethod
    def from_csv(cls, path: str) -> GarbageIndex:
        """Items from a city's ごみ分別表 CSV with columns ID,品目,分別区分,出し方のポイント
        (the Tsu City open-data layout)."""
        import csv

        with open(path, encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.DictReader(handle))
        return cls(
            {
                "id": int(r.get("ID") or i + 1),
                "name": r.get("品目") or "",
                "reading": None,
                "category": r.get("分別区分") or "",
                "how_to": r.get("出し方のポイント") or None,
                "notes": None,
            }
            for i, r in enumerate(rows)
        )

    def _maybe_refresh(self) -> GarbageIndex:
        if self.url is None and self.marker is None:
            return self
        now = time.monotonic()
        if now - self._last_check < 1.0 or not self._lock.acquire(blocking=False):
            return self
        try:
            self._last_check = now
            try:
                marker = _store_marker(self.url)
            except Exception:  # store briefly unreachable: keep the items we have
                return self
            if marker != self.marker:
                fresh = GarbageIndex(_load_store_items(self.url), self.normalizer)
                self.__dict__.update(
                    {k: v for k, v in fresh.__dict__.items() if k not in ("_lock", "url")}
                )
                self.marker = marker
        finally:
            self._lock.release()
        return self

    # -- lookup --------------------------------------------------------------------------------
    def _result(self, indices: Iterable[int]) -> GarbageResult:
        seen: list[int] = []
        for i in indices:
            if i not in seen:
                seen.append(i)
        if not seen:
            return GarbageResult("unknown", [])
        items = [dict(self.items[i]) for i in seen[:MAX_ITEMS]]
        return GarbageResult("match" if len(seen) == 1 else "ambiguous", items)

    def _content(self, text: str) -> tuple[str, str]:
        """The question's nouns (key, reading): 古いテレビを捨てたい → テレビ."""
        tokens = self.normalizer.tokenize(text)
        parts = [t for t in tokens if t.pos and t.pos[0] in _CONTENT_POS]
        key = "".join(_key(t.surface) for t in parts)
        reading = "".join(to_katakana(t.reading) for t in parts)
        return key, reading

    def lookup(self, text: str) -> GarbageResult:
        self._maybe_refresh()
        key = _key(text or "")
        if not key or not self.items:
            return GarbageResult("unknown", [])
        if key in self._by_full and len(self._by_full[key]) == 1:
            return self._result(self._by_full[key])
        reading = self._reading(text)
        content, content_reading = self._content(text)
        for k in (key, reading, content, content_reading):
            if k and k in self._by_base:
                return self._result(self._by_base[k])
        # A known name inside the question's nouns (or the whole question): longest wins.
        for haystack in (content, content_reading, key, reading):
            if not haystack:
                continue
            found = [k for k in self._keys if k in haystack]
            if found:
                longest = len(found[0])
                best = [k for k in found if len(k) == longest]
                return self._result(i for k in best for i in self._by_base[k])
        # The question is part of a name (れいぞう → 冷蔵庫): shortest names first.
        for needle in (content or key, content_reading or reading):
            if len(needle) >= 2:
                found = sorted((k for k in self._keys if needle in k), key=len)
                if found:
                    shortest = len(found[0])
                    best = [k for k in found if len(k) == shortest]
                    return self._result(i for k in best for i in self._by_base[k])
        # Typos: character-bigram similarity.
        grams = set(char_ngrams(content or key, 2))
        if grams:
            scored = []
            for k, kg in self._grams.items():
                if kg:
                    sim = len(grams & kg) / len(grams | kg)
                    if sim >= 0.5:
                        scored.append((sim, k))
            if scored:
                scored.sort(key=lambda s: (-s[0], len(s[1])))
                top = scored[0][0]
                best = [k for sim, k in scored if sim == top]
                return self._result(i for k in best for i in self._by_base[k])
        return GarbageResult("unknown", [])


def _load_store_items(url: str | None) -> list[dict[str, Any]]:
    from sqlalchemy import select

    from qa_data.db import session_scope
    from qa_data.models import GarbageItem

    with session_scope(url) as session:
        rows = session.scalars(select(GarbageItem).order_by(GarbageItem.id))
        return [
            {
                "id": r.id,
                "name": r.name,
                "reading": r.reading,
                "category": r.category,
                "how_to": r.how_to,
                "notes": r.notes,
            }
            for r in rows
        ]


def _store_marker(url: str | None) -> tuple[Any, ...]:
    from sqlalchemy import func, select

    from qa_data.db import session_scope
    from qa_data.models import GarbageItem

    with session_scope(url) as session:
        return tuple(
            session.execute(
                select(
                    func.count(GarbageItem.id),
                    func.max(GarbageItem.id),
                    func.max(GarbageItem.updated_at),
                )
            ).one()
        )
