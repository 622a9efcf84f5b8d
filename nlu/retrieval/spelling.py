"""Kana typed without conversion, spelled the way the FAQ writes it.

On a phone, residents often send 「いんかんとうろく したい」 or, in half-width katakana,
「ｼﾞｭｳﾐﾝﾋｮｳ ﾓﾗｲﾀｲ」. Sudachi cuts such runs into nonsense (い/ん/かん/とうろく). The FAQ itself
says which spellings are likely: every content word of every entry comes with its Sudachi reading.
:class:`KanaSpeller` is a small input method over that vocabulary: a kana run is segmented into
the longest FAQ readings it contains (dynamic programming over the run, at least
``MIN_READING`` kana per word) and rewritten with their spellings (いんかんとうろく →
印鑑登録), so the rewritten question is analysed like any other.

A hiragana run is rewritten only when Sudachi finds the result more natural Japanese than the
original (a lower lattice cost, :meth:`JapaneseNormalizer.cost`): 「すいどう」 becomes 「水道」,
but 「使いたい」 does not become 「使遺体」 nor 「なくなった」 「亡くなった」. A katakana run is
spelled only when Sudachi does not know it and the FAQ's words spell all of it
(ｼﾞｭｳﾐﾝﾋｮｳ → 住民票; ソファー stays ソファー).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from nlu.normalizer import JapaneseNormalizer, normalize_text, to_hiragana

MIN_READING = 3  # two-kana readings (いぬ, ほん) match by accident too often
MAX_READING = 16
# How much lower Sudachi's cost must be with a word spelled: 「印鑑登録 死体」 is slightly
# "cheaper" than 「印鑑登録 したい」, 「水道」 far cheaper than 「すいどう」 (3,538 → 0).
MIN_GAIN = 1000
MAX_TEXT = 500  # a longer question is not typed on a phone without conversion
_HIRAGANA_RUN = re.compile("[\u3041-\u3096ー]{3,}")
_KATAKANA_RUN = re.compile("[\u30a1-\u30faー]{3,}")
_SPELLED = re.compile("[\u4e00-\u9fff\u30a1-\u30fa]")


def spellings(units: Iterable) -> set[tuple[str, str]]:
    """``(reading, surface)`` of content words (:class:`nlu.normalizer.Unit`) written with kanji
    or katakana: what a kana run may be rewritten to."""
    out = set()
    for u in units:
        if _SPELLED.search(u.surface) and MIN_READING <= len(u.reading) <= MAX_READING:
            out.add((u.reading, u.surface))
    return out


class KanaSpeller:
    """Rewrites kana runs of a question with the FAQ's spellings. Immutable, thread-safe."""

    def __init__(self, counts: Counter[tuple[str, str]]) -> None:
        # The most used spelling of each reading (証明書 over 証明所, both しょうめいしょ).
        best: dict[str, tuple[int, str]] = {}
        for (reading, surface), n in counts.items():
            if n > 0 and (reading not in best or (n, surface) > best[reading]):
                best[reading] = (n, surface)
        self.lexicon = {reading: surface for reading, (_, surface) in best.items()}

    def __len__(self) -> int:
        return len(self.lexicon)

    def respell(self, normalizer: JapaneseNormalizer, text: str) -> str:
        """``text`` normalised, with its unconverted kana runs spelled as the FAQ spells them
        (unchanged when nothing applies)."""
        normalized = normalize_text(text or "")
        if not self.lexicon or len(normalized) > MAX_TEXT:
            return normalized
        runs = [(m.start(), m.end(), False) for m in _HIRAGANA_RUN.finditer(normalized)]
        runs.extend((m.start(), m.end(), True) for m in _KATAKANA_RUN.finditer(normalized))
        if not runs:
            return normalized
        tokens = None
        text = normalized
        cost = None
        shift = 0  # how much longer ``text`` is than ``normalized`` before the current run
        for start, end, katakana in sorted(runs):
            run = normalized[start:end]
            words = self._words(to_hiragana(run))
            if not words:
                continue
            if katakana:
                tokens = normalizer.tokenize(normalized) if tokens is None else tokens
                unknown = any(t.oov for t in tokens if t.start < end and t.end > start)
                if not unknown or sum(e - b for b, e, _ in words) < len(run.replace("ー", "")):
                    continue
            # One word at a time, left to right. In a hiragana run each is kept only if Sudachi
            # clearly prefers it; an unknown katakana run takes them all.
            for b, e, word in words:
                at = start + shift + b
                candidate = text[:at] + word + text[at + e - b :]
                candidate_cost = None if katakana else normalizer.cost(candidate)
                if candidate_cost is not None:
                    cost = normalizer.cost(text) if cost is None else cost
                    if candidate_cost > cost - MIN_GAIN:
                        continue
                text, cost = candidate, candidate_cost
                shift += len(word) - (e - b)
        return text

    def _words(self, run: str) -> list[tuple[int, int, str]]:
        """``(start, end, spelling)`` of the FAQ words that cover most of the run (then: the
        fewest words), left to right."""
        n = len(run)
        # score[i]: (kana of run[:i] covered by words, -words used); step[i]: how it got there.
        score: list[tuple[int, int]] = [(0, 0)] + [(-1, 0)] * n
        step: list[tuple[int, str | None]] = [(0, None)] * (n + 1)
        for i in range(n):
            if score[i] > score[i + 1]:
                score[i + 1], step[i + 1] = score[i], (i, None)
            covered, words = score[i]
            for length in range(MIN_READING, min(MAX_READING, n - i) + 1):
                surface = self.lexicon.get(run[i : i + length])
                if surface is not None and (covered + length, words - 1) > score[i + length]:
                    score[i + length] = (covered + length, words - 1)
                    step[i + length] = (i, surface)
        found = []
        i = n
        while i > 0:
            previous, surface = step[i]
            if surface is not None:
                found.append((previous, i, surface))
            i = previous
        return found[::-1]
