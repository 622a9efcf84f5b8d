"""Japanese text normalisation and Sudachi analysis for retrieval and the Rasa tokenizer.

This module imports only SudachiPy and the standard library and runs on Python 3.10 and 3.11,
because the Rasa tokenizer component (``nlu/tokenizer.py``) builds on it inside the Rasa venv.

- :func:`normalize_text`: character-level normalisation (NFKC, full/half width, case folding,
  kana and long-vowel variants, ヴ, whitespace collapse). Script is kept (hiragana stays
  hiragana), so Sudachi still sees natural text.
- :class:`JapaneseNormalizer`: one Sudachi dictionary shared by a tokenizer per thread
  (Sudachi tokenizers are not thread-safe). ``tokenize`` gives :class:`Token` objects whose
  offsets point into the ORIGINAL text; ``features`` gives the match features retrieval uses.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from sudachipy import Dictionary, SplitMode

__all__ = [
    "DICTIONARY_NAME",
    "DICTIONARY_VERSION",
    "Analysis",
    "JapaneseNormalizer",
    "Token",
    "Unit",
    "char_ngrams",
    "dictionary_version",
    "get_normalizer",
    "normalize_text",
    "to_hiragana",
    "to_katakana",
]

DICTIONARY_NAME = "core"

# Sudachi refuses input above 49,149 UTF-8 bytes; 4 bytes per character at worst.
_MAX_CHUNK_CHARS = 12_000

# Parts of speech (first level) that carry no topic.
STOP_POS = frozenset(
    {
        "助詞",
        "助動詞",
        "補助記号",
        "記号",
        "空白",
        "接続詞",
        "感動詞",
        "代名詞",
        "連体詞",
        "副詞",
        "接頭辞",
    }
)
# Reading runs break only at these (see Analysis.reading_segments).
_READING_BREAK_POS = frozenset(
    {"助詞", "助動詞", "補助記号", "空白", "代名詞", "感動詞", "接続詞", "連体詞"}
)
# Function verbs and adjectives (する, いる, ある, なる, できる, 下さる, 欲しい, ...).
_STOP_POS_SECOND = frozenset({("動詞", "非自立可能"), ("形容詞", "非自立可能")})
# Verbs that frame a request (〜を知りたい, 教えてください, 〜か分かりますか, お願いします) and say
# nothing of its topic. Counted as words, they made 「保育園をやめるときの手続きを知りたい」 prefer
# 「保育園の空き状況を知りたい」 to the entry about leaving (normalized forms).
REQUEST_VERBS = frozenset({"知る", "教える", "分かる", "思う", "聞く", "願う", "頂く"})
QUESTION_WORDS = frozenset(
    {"どう", "どこ", "いつ", "何", "幾ら", "どの", "どれ", "誰", "どちら", "どなた", "如何"}
)

_HIRA_START, _HIRA_END = 0x3041, 0x3096
_KATA_OFFSET = 0x60

_LONG_VOWEL_VARIANTS = "-‐‑‒–—―−ｰ~〜～"
# Kana other than the long-vowel mark itself.
_KANA_RE = "[\u3041-\u309f\u30a1-\u30fb\u30fd-\u30ff]"
_KANA_CHAR = re.compile(_KANA_RE)
_LONG_VOWEL_RE = re.compile(f"(?<={_KANA_RE})[{re.escape(_LONG_VOWEL_VARIANTS)}ー]+")
_VU_MAP = {
    "ヴァ": "バ",
    "ヴィ": "ビ",
    "ヴェ": "ベ",
    "ヴォ": "ボ",
    "ヴ": "ブ",
    "ゔぁ": "ば",
    "ゔぃ": "び",
    "ゔぇ": "べ",
    "ゔぉ": "ぼ",
    "ゔ": "ぶ",
}
_VU_RE = re.compile("ヴ[ァィェォ]?|ゔ[ぁぃぇぉ]?")
_INVISIBLE_RE = re.compile("[\u200b-\u200f\u2060\ufeff\u00ad]")
_CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPACE_RE = re.compile(r"\s+")
# A run of hiragana of 3+ characters standing alone between spaces or punctuation
# (じゅうみんひょう, かんでんち): Sudachi cuts such runs into particles and stray words, so their
# reading and character n-grams are taken over the whole run instead.
_KANA_CHUNK_RE = re.compile(
    "(?<![\u3041-\u309f\u30a0-\u30ff\u4e00-\u9fffA-Za-z0-9])"
    "[\u3041-\u309fー]{3,}"
    "(?![\u3041-\u309f\u30a0-\u30ff\u4e00-\u9fffA-Za-z0-9])"
)
# Half-width voiced marks combine with the preceding kana under NFKC.
_COMBINING_EXTRA = frozenset("\uff9e\uff9f\u3099\u309a")


_TO_KATA = {c: c + _KATA_OFFSET for c in range(_HIRA_START, _HIRA_END + 1)}
_TO_HIRA = {c + _KATA_OFFSET: c for c in range(_HIRA_START, _HIRA_END + 1)}


def to_katakana(text: str) -> str:
    """Hiragana → katakana (other characters unchanged)."""
    return text.translate(_TO_KATA)


def to_hiragana(text: str) -> str:
    """Katakana → hiragana (other characters unchanged)."""
    return text.translate(_TO_HIRA)


class _NgramTable(dict):
    """``str.translate`` table: hiragana → katakana, spaces and punctuation dropped (cached)."""

    def __missing__(self, code: int):
        c = chr(code)
        if c.isspace() or unicodedata.category(c)[0] not in "LNS":
            value = None
        elif _HIRA_START <= code <= _HIRA_END:
            value = code + _KATA_OFFSET
        else:
            value = code
        self[code] = value
        return value


_NGRAM_TABLE = _NgramTable()


def normalize_text(text: str) -> str:
    """Normalise characters: NFKC (full/half width, ｶﾀｶﾅ → カタカナ), case folding, long-vowel
    variants after kana (コ-ヒ- → コーヒー, すご〜〜い → すごーい), ヴ → ブ row, invisible and
    control characters removed, whitespace collapsed to single spaces."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text)
    text = unicodedata.normalize("NFKC", text.casefold())
    text = _INVISIBLE_RE.sub("", text)
    text = _CONTROL_RE.sub(" ", text)
    text = _VU_RE.sub(lambda m: _VU_MAP[m.group(0)], text)
    text = _LONG_VOWEL_RE.sub("ー", text)
    return _SPACE_RE.sub(" ", text).strip()


def _normalize_with_map(text: str) -> tuple[str, list[int], list[int]]:
    """``normalize_text`` plus, for each output character, its [start, end) in ``text``."""
    chars: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    i, n = 0, len(text)
    while i < n:
        j = i + 1
        while j < n and (unicodedata.combining(text[j]) or text[j] in _COMBINING_EXTRA):
            j += 1
        piece = unicodedata.normalize("NFKC", text[i:j])
        piece = unicodedata.normalize("NFKC", piece.casefold())
        for c in piece:
            if _INVISIBLE_RE.match(c):
                continue
            chars.append(c)
            starts.append(i)
            ends.append(j)
        i = j
    # Apply the same substitutions as normalize_text, keeping the map.
    out_c: list[str] = []
    out_s: list[int] = []
    out_e: list[int] = []
    k, m = 0, len(chars)
    in_run = False
    while k < m:
        c = chars[k]
        if _CONTROL_RE.match(c) or c.isspace():
            in_run = False
            if out_c and out_c[-1] != " ":
                out_c.append(" ")
                out_s.append(starts[k])
                out_e.append(ends[k])
            elif out_c:
                out_e[-1] = ends[k]
            k += 1
            continue
        if c in "ヴゔ":
            in_run = False
            pair = c + chars[k + 1] if k + 1 < m else c
            if pair in _VU_MAP and len(pair) == 2:
                out_c.append(_VU_MAP[pair])
                out_s.append(starts[k])
                out_e.append(ends[k + 1])
                k += 2
                continue
            out_c.append(_VU_MAP[c])
            out_s.append(starts[k])
            out_e.append(ends[k])
            k += 1
            continue
        if c in _LONG_VOWEL_VARIANTS or c == "ー":
            if in_run:  # collapse the run into one mark
                out_e[-1] = ends[k]
                k += 1
                continue
            if out_c and _KANA_CHAR.match(out_c[-1]):
                out_c.append("ー")
                out_s.append(starts[k])
                out_e.append(ends[k])
                in_run = True
                k += 1
                continue
        in_run = False
        out_c.append(c)
        out_s.append(starts[k])
        out_e.append(ends[k])
        k += 1
    if out_c and out_c[-1] == " ":
        out_c.pop()
        out_s.pop()
        out_e.pop()
    return "".join(out_c), out_s, out_e


def _chunks(text: str) -> list[tuple[int, str]]:
    """Split ``text`` into pieces Sudachi accepts, preferring sentence or space boundaries."""
    if len(text) <= _MAX_CHUNK_CHARS:
        return [(0, text)]
    pieces = []
    start = 0
    while start < len(text):
        end = min(start + _MAX_CHUNK_CHARS, len(text))
        if end < len(text):
            window = text[start:end]
            cut = max(window.rfind(p) for p in ("。", "!", "?", " ", "、", "\n"))
            if cut > _MAX_CHUNK_CHARS // 2:
                end = start + cut + 1
        pieces.append((start, text[start:end]))
        start = end
    return pieces


@dataclass(frozen=True)
class Token:
    """One Sudachi morpheme. ``start``/``end`` are character offsets into the original text."""

    surface: str
    normalized: str
    reading: str
    start: int
    end: int
    pos: tuple[str, ...]
    synonym_ids: tuple[int, ...] = ()
    oov: bool = False  # not in the dictionary (Sudachi guessed the word)

    @property
    def is_stop(self) -> bool:
        return _is_stop(self.pos, self.normalized)


@dataclass(frozen=True)
class Unit:
    """One content word of a text, for coverage ("how much of the question did an entry
    mention"): its normalized form, the verb/noun stem, SudachiDict synonym groups, the
    normalized forms of its mode-A parts, its kana reading and surface. A hiragana-only run
    (see ``_KANA_CHUNK_RE``) is one unit whose ``parts`` are the content words Sudachi found in
    it; a run with none gives no unit."""

    word: str
    surface: str
    reading: str
    synonym_ids: tuple[int, ...] = ()
    parts: tuple[str, ...] = ()
    stem: str = ""


@dataclass(frozen=True)
class Analysis:
    """What retrieval needs from one text, computed in one pass.

    ``words``: normalized forms of content morphemes (mode C, plus their mode-A parts when a
    compound splits); ``synonym_ids``: SudachiDict synonym groups of those morphemes;
    ``reading``: hiragana reading of the content-bearing text (punctuation and spaces removed);
    ``text``: the normalised text (``normalize_text``)."""

    text: str
    words: tuple[str, ...]
    synonym_ids: tuple[int, ...]
    reading: str
    # Runs of content morphemes (normalised surface), split at stop words: 「タンスを出したい」
    # → ("タンス", "出し"); and runs of readings split only at particles, auxiliaries and
    # punctuation (hiragana-only text often tokenizes into nonsense content words).
    segments: tuple[str, ...] = ()
    reading_segments: tuple[str, ...] = ()
    # Shared stems of verbs and their noun forms: 引っ越す / 引っ越し → 引っ越, 申し込む /
    # 申し込み → 申し込 (see _stem).
    stems: tuple[str, ...] = ()
    units: tuple[Unit, ...] = ()

    @property
    def features(self) -> list[str]:
        out = list(self.words)
        out.extend(f"syn:{i}" for i in self.synonym_ids)
        return out


def _is_stop(pos: Sequence[str], form: str = "") -> bool:
    """Function words by part of speech, and the request verbs (``form``: normalized form)."""
    if not pos:
        return True
    if pos[0] == "動詞" and form in REQUEST_VERBS:
        return True
    return pos[0] in STOP_POS or (pos[0], pos[1] if len(pos) > 1 else "") in _STOP_POS_SECOND


# Kana that end a verb's dictionary form (う段) or its noun form (い段, 連用形).
_VERB_ENDINGS = frozenset("うくぐすつぬぶむる")
_NOUN_FORM_ENDINGS = frozenset("いきぎしちにびみりえけげせてねべめれ")


def _stem(word: str, pos: Sequence[str]) -> str:
    """The stem a verb shares with its noun form (引っ越す/引っ越し → 引っ越), or ``""``.

    Only words with a kanji before the final kana qualify, so short kana words never collapse."""
    if len(word) < 2 or not ("\u4e00" <= word[-2] <= "\u9fff" or "\u3041" <= word[-2] <= "\u3096"):
        return ""
    if not any("\u4e00" <= c <= "\u9fff" for c in word[:-1]):
        return ""
    last = word[-1]
    if pos[0] == "動詞" and last in _VERB_ENDINGS:
        return word[:-1]
    if pos[0] == "名詞" and last in _NOUN_FORM_ENDINGS:
        return word[:-1]
    return ""


def _fold(word: str) -> str:
    # Sudachi's normalized form upper-cases Latin letters (abc → ABC); fold them back.
    return normalize_text(word)


def dictionary_version() -> str:
    """The installed SudachiDict version, e.g. ``core-20261015`` (recorded by the index)."""
    try:
        from importlib.metadata import version

        return f"{DICTIONARY_NAME}-{version('sudachidict-' + DICTIONARY_NAME)}"
    except Exception:  # pragma: no cover - metadata missing in odd installs
        return f"{DICTIONARY_NAME}-unknown"


DICTIONARY_VERSION = dictionary_version()


class JapaneseNormalizer:
    """Sudachi analysis with one shared dictionary and one tokenizer per thread and mode.

    ``split_mode`` ("A", "B" or "C") is the mode of :meth:`tokenize`; :meth:`features` always
    uses mode C with the mode-A parts of compounds, so 粗大ゴミ also matches ゴミ."""

    def __init__(self, split_mode: str = "C", dict_name: str = DICTIONARY_NAME) -> None:
        self.split_mode = split_mode.upper()
        if self.split_mode not in ("A", "B", "C"):
            raise ValueError(f"unknown Sudachi split mode: {split_mode!r}")
        self._dictionary = Dictionary(dict=dict_name)
        self._local = threading.local()
        self.dictionary_version = dictionary_version()

    # -- Sudachi access -------------------------------------------------------------------
    def _tokenizer(self, mode: str):
        tokenizers = getattr(self._local, "tokenizers", None)
        if tokenizers is None:
            tokenizers = self._local.tokenizers = {}
        tok = tokenizers.get(mode)
        if tok is None:
            tok = tokenizers[mode] = self._dictionary.tokenizer(mode=getattr(SplitMode, mode))
        return tok

    def _morphemes(self, normalized: str, mode: str):
        """(chunk offset, morpheme) pairs over a normalised text of any length."""
        if not normalized:
            return
        tok = self._tokenizer(mode)
        for offset, chunk in _chunks(normalized):
            for m in tok.tokenize(chunk):
                yield offset, m

    # -- public API ------------------------------------------------------------------------
    def tokenize(self, text: str, split_mode: str | None = None) -> list[Token]:
        """Morphemes of ``text`` (whitespace dropped), offsets into the original ``text``."""
        mode = (split_mode or self.split_mode).upper()
        normalized, starts, ends = _normalize_with_map(text or "")
        tokens: list[Token] = []
        for offset, m in self._morphemes(normalized, mode):
            b, e = offset + m.begin(), offset + m.end()
            if e <= b or m.part_of_speech()[0] == "空白":
                continue
            start, end = starts[b], ends[e - 1]
            reading = m.reading_form() if not m.is_oov() else m.surface()
            tokens.append(
                Token(
                    surface=text[start:end],
                    normalized=_fold(m.normalized_form()) or m.surface(),
                    reading=to_hiragana(reading or m.surface()),
                    start=start,
                    end=end,
                    pos=tuple(m.part_of_speech()),
                    synonym_ids=tuple(m.synonym_group_ids()),
                    oov=m.is_oov(),
                )
            )
        return tokens

    def analyze(self, text: str) -> Analysis:
        """Words, synonym ids and reading of ``text`` (see :class:`Analysis`)."""
        normalized = normalize_text(text or "")
        words: list[str] = []
        syn: list[int] = []
        reading: list[str] = []
        segments: list[str] = []
        stems: list[str] = []
        reading_segments: list[str] = []
        seg: list[str] = []
        rseg: list[str] = []

        def close(buffer: list[str], out: list[str]) -> None:
            if buffer:
                out.append("".join(buffer))
                buffer.clear()

        units: list[Unit] = []
        chunks = [(c.start(), c.end()) for c in _KANA_CHUNK_RE.finditer(normalized)]
        chunk_words: list[str] = []
        chunk_kinds: set[str] = set()  # "grammar" (particle, auxiliary), "question" (どこ, いつ)
        chunk_at = 0  # index of the next kana chunk not yet closed

        def close_chunk() -> None:
            nonlocal chunk_at
            b, e = chunks[chunk_at]
            text = normalized[b:e]
            segments.append(text)
            reading_segments.append(text)
            # A question word and its grammar only (どうすればいいですか, どこでもらえる, いつまで)
            # names nothing an entry could mention. Other runs of function words are more likely
            # words Sudachi misread: じゅうみんひょう (adverb, verb, adverb), かんでんち.
            if chunk_words or chunk_kinds != {"grammar", "question"}:
                units.append(Unit(text, text, text, (), tuple(dict.fromkeys(chunk_words))))
            chunk_words.clear()
            chunk_kinds.clear()
            chunk_at += 1

        for offset, m in self._morphemes(normalized, "C"):
            begin = offset + m.begin()
            while chunk_at < len(chunks) and begin >= chunks[chunk_at][1]:
                close_chunk()
            in_chunk = chunk_at < len(chunks) and begin >= chunks[chunk_at][0]
            pos = m.part_of_speech()
            if in_chunk:
                # Words only: the run's segment, reading and unit come from the whole run.
                close(seg, segments)
                close(rseg, reading_segments)
                reading.append(m.surface())
                if pos[0] in ("助詞", "助動詞"):
                    chunk_kinds.add("grammar")
                elif m.normalized_form() in QUESTION_WORDS:
                    chunk_kinds.add("question")
                if not _is_stop(pos, m.normalized_form()):
                    word = _fold(m.normalized_form()) or m.surface()
                    words.append(word)
                    chunk_words.append(word)
                    syn.extend(m.synonym_group_ids())
                continue
            if pos[0] in ("空白", "補助記号"):
                close(seg, segments)
                close(rseg, reading_segments)
                continue
            r = m.surface() if m.is_oov() else m.reading_form()
            reading.append(r)
            if pos[0] in _READING_BREAK_POS:
                close(rseg, reading_segments)
            else:
                rseg.append(r)
            if _is_stop(pos, m.normalized_form()):
                close(seg, segments)
                continue
            seg.append(m.surface())
            word = _fold(m.normalized_form()) or m.surface()
            words.append(word)
            stem = _stem(word, pos)
            if stem:
                stems.append(stem)
            ids = list(m.synonym_group_ids())
            part_words: list[str] = []
            parts = m.split(SplitMode.A)
            if len(parts) > 1:
                for p in parts:
                    if _is_stop(p.part_of_speech()):
                        continue
                    part_words.append(_fold(p.normalized_form()) or p.surface())
                    ids.extend(p.synonym_group_ids())
            words.extend(part_words)
            syn.extend(ids)
            units.append(
                Unit(
                    word,
                    normalize_text(m.surface()),
                    to_hiragana(r),
                    tuple(m.synonym_group_ids()),
                    tuple(part_words),
                    stem,
                )
            )
        close(seg, segments)
        close(rseg, reading_segments)
        while chunk_at < len(chunks):
            close_chunk()
        return Analysis(
            text=normalized,
            words=tuple(words),
            synonym_ids=tuple(dict.fromkeys(syn)),
            reading=to_hiragana("".join(reading)),
            segments=tuple(segments),
            reading_segments=tuple(to_hiragana(r) for r in reading_segments),
            stems=tuple(stems),
            units=tuple(units),
        )

    def cost(self, text: str) -> int:
        """Sudachi's cost of its best reading of ``text`` (mode C): lower is more natural
        Japanese. 「すいどう」 (read as two adverbs) costs more than 「水道」."""
        tok = self._tokenizer("C")
        return sum(tok.tokenize(chunk).get_internal_cost() for _, chunk in _chunks(text))

    def features(self, text: str) -> list[str]:
        """Match features: content normalized forms (mode C and the mode-A parts of compounds),
        ``syn:<id>`` SudachiDict synonym groups and ``yomi:<hiragana>`` readings."""
        analysis = self.analyze(text)
        out = analysis.features
        for tok in self.tokenize(text, "C"):
            if not tok.is_stop and tok.reading:
                out.append(f"yomi:{tok.reading}")
        return out

    def reading(self, text: str) -> str:
        """Hiragana reading of ``text`` without punctuation or spaces (じゅうみんひょう)."""
        return self.analyze(text).reading


def char_ngrams(text: str, n: int = 2) -> list[str]:
    """Character n-grams of a normalised text, ignoring spaces and punctuation; hiragana and
    katakana are unified so ごみ and ゴミ share n-grams. Short texts give one n-gram."""
    cleaned = text.translate(_NGRAM_TABLE)
    if not cleaned:
        return []
    if len(cleaned) < n:
        return [cleaned]
    return [cleaned[i : i + n] for i in range(len(cleaned) - n + 1)]


_shared: JapaneseNormalizer | None = None
_shared_lock = threading.Lock()


def get_normalizer() -> JapaneseNormalizer:
    """A process-wide normaliser (created on first use, never at import time)."""
    global _shared
    if _shared is None:
        with _shared_lock:
            if _shared is None:
                _shared = JapaneseNormalizer()
    return _shared
