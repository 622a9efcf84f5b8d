"""Match features of a text, with a one-letter kind prefix.

- ``w:`` Sudachi normalized forms of content words (mode C, plus the mode-A parts of compounds);
- ``s:`` SudachiDict synonym group ids (引っ越し/引越し/転居 share one);
- ``u:`` staff or file synonym groups (``nlu.synonyms``);
- ``c:`` character bigrams of the normalised text, kana unified (typos, unknown words);
- ``y:`` trigrams of the kana reading (hiragana-only questions, kanji variants);
- ``k:`` single kanji of content words (kanji carry meaning: 婚姻/結婚, 証明/証明書).

Each kind has a weight on the query side (``kind_weights``)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass

from nlu.normalizer import Analysis, JapaneseNormalizer, char_ngrams
from nlu.retrieval.spelling import spellings
from nlu.synonyms import SynonymSet, match_text

KINDS = ("w", "s", "u", "c", "y", "k")


@dataclass(frozen=True)
class QueryUnit:
    """The features of one content word of a question, for coverage (``LexicalIndex.coverage``):
    the word counts as mentioned by an entry that has any ``strong`` feature (the word, its
    stem, its SudachiDict synonym groups), else partly, by the share of its mode-A ``parts``, of
    its ``reading`` trigrams or of its character bigrams (``chars``) that the entry has (typos,
    wrong kanji conversions, hiragana spellings). The word weighs ``scale`` times the idf of
    ``term`` (``scale`` < 1 for the words of an earlier question given as context)."""

    term: str
    strong: tuple[str, ...]
    parts: tuple[str, ...] = ()
    reading: tuple[str, ...] = ()
    chars: tuple[str, ...] = ()
    scale: float = 1.0


@dataclass(frozen=True)
class TextAnalysis:
    match_text: str  # normalised, katakana, no spaces: what synonym terms are matched against
    base: tuple[str, ...]  # w/s/c/y features (no u:, which depends on the synonym set)
    units: tuple[QueryUnit, ...] = ()  # only for questions (``analyze(..., units=1.0)``)
    # (reading, surface) of its words written in kanji or katakana, for ``KanaSpeller``.
    spellings: tuple[tuple[str, str], ...] = ()


def _units(a: Analysis, scale: float) -> tuple[QueryUnit, ...]:
    out = []
    for u in a.units:
        strong = [f"w:{u.word}", *(f"s:{i}" for i in u.synonym_ids)]
        if u.stem:
            strong.append(f"w:{u.stem}~")
        out.append(
            QueryUnit(
                term=f"w:{u.word}",
                strong=tuple(strong),
                parts=tuple(f"w:{p}" for p in u.parts),
                reading=tuple(f"y:{g}" for g in char_ngrams(u.reading.replace("ー", ""), 3)),
                chars=tuple(f"c:{g}" for g in char_ngrams(u.surface.replace("ー", ""), 2)),
                scale=scale,
            )
        )
    return tuple(out)


def analyze(
    normalizer: JapaneseNormalizer,
    text: str,
    ngrams: bool = True,
    units: float = 0.0,
    faq_spellings: bool = False,
) -> TextAnalysis:
    """``units``: for a question, the weight scale of its :class:`QueryUnit` (0: none).
    ``faq_spellings``: keep the (reading, spelling) pairs of an FAQ text for ``KanaSpeller``
    (a question's are never used, and would only grow the shared pairs)."""
    a = normalizer.analyze(text)
    feats = [f"w:{w}" for w in a.words]
    feats.extend(f"w:{stem}~" for stem in a.stems)
    feats.extend(f"s:{i}" for i in a.synonym_ids)
    if ngrams:
        # The long-vowel mark is dropped for n-grams: ソファ/ソファー, コンピュータ/コンピューター.
        for segment in a.segments:
            feats.extend(f"c:{g}" for g in char_ngrams(segment.replace("ー", ""), 2))
        for segment in a.reading_segments:
            feats.extend(f"y:{g}" for g in char_ngrams(segment.replace("ー", ""), 3))
        for segment in a.segments:
            feats.extend(f"k:{c}" for c in segment if "\u4e00" <= c <= "\u9fff")
    # Interned: the same feature strings recur across thousands of entries.
    return TextAnalysis(
        match_text=match_text(a.text),
        base=tuple(map(sys.intern, feats)),
        units=_units(a, units) if units > 0 else (),
        spellings=tuple(_shared_pair(p) for p in spellings(a.units)) if faq_spellings else (),
    )


_pairs: dict[tuple[str, str], tuple[str, str]] = {}


def _shared_pair(pair: tuple[str, str]) -> tuple[str, str]:
    # One object per distinct pair: thousands of entries hold the same words.
    return _pairs.setdefault(pair, pair)


def with_synonyms(
    analysis: TextAnalysis, synonyms: SynonymSet | None, side: str = "doc"
) -> Sequence[str]:
    """The analysis' features plus the ``u:`` keys of the synonym groups it mentions."""
    if synonyms is None or not len(synonyms):
        return analysis.base
    words = [f[2:] for f in analysis.base if f.startswith("w:")]
    if side == "doc":
        keys = synonyms.doc_keys(analysis.match_text, words)
    else:
        keys = synonyms.query_keys(analysis.match_text, words)
    if not keys:
        return analysis.base
    return analysis.base + tuple(f"u:{k}" for k in keys)


def query_weights(
    features: Sequence[str], kind_weights: dict[str, float], scale: float = 1.0
) -> dict[str, float]:
    """Unique query features → weight by kind."""
    out: dict[str, float] = {}
    for f in features:
        if f not in out:
            w = kind_weights.get(f[0], 0.0) * scale
            if w > 0:
                out[f] = w
    return out
