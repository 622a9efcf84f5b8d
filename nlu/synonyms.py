"""Synonym dictionaries beyond SudachiDict's own groups.

Two sources, both turned into match features by :class:`SynonymSet`:

- staff-managed ``SynonymGroup`` rows in the store (``equivalent``: every term matches every
  other; ``oneway``: the other terms also match the FIRST term, ソファ → 粗大ごみ, not the reverse);
- an optional file in SudachiDict's ``synonyms.txt`` format (``retrieval.synonyms_file``), for a
  city that maintains one.

A term matches a text when its normalised form (kana unified to katakana) occurs in the text's
normalised form, or, for a one-word term, when its Sudachi normalized form is among the text's
words. A match adds the feature ``u:<group key>``; documents and queries share the key, so a query
term finds documents that use another term of the group.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from nlu.normalizer import JapaneseNormalizer, normalize_text, to_katakana

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SynonymGroupDef:
    """One group. ``doc_terms`` mark a document with the group; ``query_terms`` mark a query."""

    key: str
    terms: tuple[str, ...]
    oneway: bool = False
    # Terms that never act as a source of expansion (SudachiDict flag 1), only as a target.
    target_only: frozenset[str] = field(default_factory=frozenset)

    @property
    def doc_terms(self) -> tuple[str, ...]:
        return self.terms[:1] if self.oneway else self.terms

    @property
    def query_terms(self) -> tuple[str, ...]:
        return tuple(t for t in self.terms if t not in self.target_only)


def _match_form(term: str) -> str:
    return to_katakana(normalize_text(term)).replace(" ", "")


def read_sudachi_synonyms(path: str | Path) -> list[SynonymGroupDef]:
    """Groups from a SudachiDict ``synonyms.txt``-format file.

    Columns: 0 group id, 2 expansion flag (0 expand, 1 target only, 2 never), 8 headword.
    Blank lines separate groups; ``#`` starts a comment line."""
    groups: dict[str, list[tuple[str, int]]] = {}
    with open(path, encoding="utf-8-sig", newline="") as handle:
        for row in csv.reader(handle):
            if not row or not row[0].strip() or row[0].lstrip().startswith("#"):
                continue
            if len(row) < 9:
                log.warning("synonyms file %s: skipped a short line: %s", path, ",".join(row))
                continue
            try:
                flag = int(row[2] or 0)
            except ValueError:
                flag = 0
            groups.setdefault(row[0].strip(), []).append((row[8].strip(), flag))
    out = []
    for gid, members in groups.items():
        terms = tuple(dict.fromkeys(t for t, flag in members if t and flag != 2))
        if len(terms) < 2:
            continue
        target_only = frozenset(t for t, flag in members if flag == 1)
        out.append(SynonymGroupDef(key=f"f{gid}", terms=terms, target_only=target_only))
    return out


class SynonymSet:
    """Matches synonym groups in analysed texts."""

    def __init__(
        self, groups: Iterable[SynonymGroupDef], normalizer: JapaneseNormalizer | None = None
    ) -> None:
        self.groups = [g for g in groups if len(g.terms) >= 2]
        # form → group keys, separately for the document side and the query side.
        self._doc_forms: dict[str, set[str]] = {}
        self._query_forms: dict[str, set[str]] = {}
        self._doc_words: dict[str, set[str]] = {}
        self._query_words: dict[str, set[str]] = {}
        self._terms: dict[str, str] = {}  # match form → original term
        for g in self.groups:
            for term in g.doc_terms:
                self._add(term, g.key, self._doc_forms, self._doc_words, normalizer)
            for term in g.query_terms:
                self._add(term, g.key, self._query_forms, self._query_words, normalizer)
                self._terms.setdefault(_match_form(term), term)

    @staticmethod
    def _add(term, key, forms, words, normalizer) -> None:
        form = _match_form(term)
        if not form:
            return
        forms.setdefault(form, set()).add(key)
        if normalizer is not None:
            analysis = normalizer.analyze(term)
            if len(analysis.words) == 1:
                words.setdefault(analysis.words[0], set()).add(key)

    def __len__(self) -> int:
        return len(self.groups)

    def _match(self, text: str, words: Sequence[str], forms, word_map) -> list[str]:
        if not self.groups:
            return []
        found: set[str] = set()
        if text:
            for form, keys in forms.items():
                if form in text:
                    found |= keys
        for w in words:
            keys = word_map.get(w)
            if keys:
                found |= keys
        return sorted(found)

    def doc_keys(self, match_text: str, words: Sequence[str]) -> list[str]:
        """Group keys of a document text (``match_text``: normalised, katakana, no spaces)."""
        return self._match(match_text, words, self._doc_forms, self._doc_words)

    def query_keys(self, match_text: str, words: Sequence[str]) -> list[str]:
        return self._match(match_text, words, self._query_forms, self._query_words)

    def query_terms_in(self, match_text: str) -> list[str]:
        """The synonym terms (as written by staff) that occur in a query."""
        return [term for form, term in self._terms.items() if form and form in match_text]


def match_text(normalized: str) -> str:
    """The form synonym terms are matched against (katakana, no spaces)."""
    return to_katakana(normalized).replace(" ", "")


def load_store_groups(session) -> list[SynonymGroupDef]:
    """Staff synonym groups from the store."""
    from sqlalchemy import select

    from qa_data.models import SynonymGroup

    out = []
    for row in session.scalars(select(SynonymGroup).order_by(SynonymGroup.id)):
        terms = tuple(dict.fromkeys(t.strip() for t in (row.terms or []) if t and t.strip()))
        if len(terms) >= 2:
            out.append(SynonymGroupDef(key=f"s{row.id}", terms=terms, oneway=bool(row.oneway)))
    return out
