"""Static word vectors, for words that mean the same without sharing a spelling or a SudachiDict
synonym group: 入籍/婚姻, 役場/市役所, 赤ちゃん/乳児.

The vectors are read from a spaCy vocabulary folder (``vocab/vectors``, a numpy array, and
``vocab/key2row``, msgpack: 64-bit string hash → row). The default, ``ja_ginza``, is the GiNZA
package from PyPI, installed without its dependencies: 480,443 Sudachi normalized forms mapped to
20,000 chiVe vectors (Works Applications, Apache-2.0, trained on the NINJAL Web Japanese Corpus).
Only those two files are read: no spaCy, no GiNZA code, nothing downloaded at run time.

Keys are Sudachi normalized forms, as :mod:`nlu.normalizer` produces them, so a word's vector is
one hash and one binary search away.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from scipy import sparse

from nlu.retrieval.fusion import unit_rows

if TYPE_CHECKING:
    from nlu.retrieval.index import LexicalIndex

_M = 0xC6A4A7935BD1E995
_MASK = (1 << 64) - 1


class VectorsUnavailable(RuntimeError):
    pass


def string_hash(text: str) -> int:
    """spaCy's string hash: MurmurHash64A of the UTF-8 bytes, seed 1."""
    data = text.encode("utf-8")
    n = len(data)
    h = (1 ^ (n * _M)) & _MASK
    full = n - n % 8
    for i in range(0, full, 8):
        k = (int.from_bytes(data[i : i + 8], "little") * _M) & _MASK
        k ^= k >> 47
        h ^= (k * _M) & _MASK
        h = (h * _M) & _MASK
    if n % 8:
        h ^= int.from_bytes(data[full:], "little")
        h = (h * _M) & _MASK
    h ^= h >> 47
    h = (h * _M) & _MASK
    return h ^ (h >> 47)


def resolve_vocab_dir(name: str) -> Path | None:
    """The folder holding ``vectors`` and ``key2row`` for ``name``: a path (the folder itself, a
    spaCy pipeline folder with ``vocab/``), or an installed spaCy pipeline package, found
    without importing it."""
    from nlu.retrieval.config import PROJECT_ROOT

    roots = [Path(name), PROJECT_ROOT / name, PROJECT_ROOT / "models" / name]
    if name.isidentifier():
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        if spec is not None and spec.submodule_search_locations:
            roots.extend(Path(p) for p in spec.submodule_search_locations)
    for root in roots:
        try:
            if (root / "key2row").is_file() and (root / "vectors").is_file():
                return root
            for found in sorted(root.glob("**/vocab/key2row")):
                if (found.parent / "vectors").is_file():
                    return found.parent
        except OSError:
            continue
    return None


class WordVectors:
    """Unit-length word vectors by Sudachi normalized form. Thread-safe."""

    def __init__(self, keys: np.ndarray, rows: np.ndarray, table: np.ndarray) -> None:
        order = np.argsort(keys)
        self._keys = keys[order]
        self._rows = rows[order].astype(np.int32)
        self.table = unit_rows(table)
        self._cache: dict[str, int] = {}
        self._lock = threading.Lock()

    @classmethod
    def load(cls, name: str) -> WordVectors:
        import msgpack

        folder = resolve_vocab_dir(name)
        if folder is None:
            raise VectorsUnavailable(
                f"{name!r} is neither a spaCy vocabulary folder nor an installed spaCy pipeline"
            )
        try:
            table = np.load(folder / "vectors", allow_pickle=False)
            key2row = msgpack.unpackb((folder / "key2row").read_bytes(), strict_map_key=False)
        except (OSError, ValueError, msgpack.UnpackException) as error:
            raise VectorsUnavailable(f"{folder}: {error}") from error
        if table.ndim != 2 or not key2row:
            raise VectorsUnavailable(f"{folder}: no vectors")
        keys = np.fromiter(key2row.keys(), dtype=np.uint64, count=len(key2row))
        rows = np.fromiter(key2row.values(), dtype=np.int64, count=len(key2row))
        if rows.max() >= len(table):
            raise VectorsUnavailable(f"{folder}: key2row points past the vectors")
        return cls(keys, rows, np.asarray(table, dtype=np.float32))

    @property
    def dimension(self) -> int:
        return int(self.table.shape[1])

    def row(self, word: str) -> int:
        """The vector row of ``word``, or -1."""
        found = self._cache.get(word)
        if found is not None:
            return found
        key = np.uint64(string_hash(word))
        i = int(np.searchsorted(self._keys, key))
        found = int(self._rows[i]) if i < len(self._keys) and self._keys[i] == key else -1
        with self._lock:
            self._cache[word] = found
        return found

    def word_vector(self, word: str, parts: tuple[str, ...] = ()) -> np.ndarray | None:
        """The unit vector of ``word``, else the normalised mean of its ``parts``' vectors
        (compounds the corpus lacks: マイナンバーカード → マイナンバー + カード)."""
        r = self.row(word)
        if r >= 0:
            return self.table[r]
        rows = [r for r in map(self.row, parts) if r >= 0]
        if not rows:
            return None
        mean = self.table[rows].sum(axis=0)
        norm = float(np.linalg.norm(mean))
        return mean / norm if norm > 0 else None


class FaqVectors:
    """The FAQ seen through word vectors, built with each index snapshot.

    - :meth:`related`: for a question's word, the FAQ's words close in meaning (cosine ≥
      ``floor``), which count as partly mentioning it (coverage) and as extra evidence (BM25);
    - :meth:`cosine`: the question's idf-weighted mean word vector against each entry's best
      phrasing (:meth:`_phrasing_vectors`), where words weigh their idf times how often the entry
      mentions them (``LexicalIndex.mentions``)."""

    def __init__(self, vectors: WordVectors, lexical: LexicalIndex) -> None:
        self.vectors = vectors
        self._idf = lexical.idf
        self._vocab = lexical.vocab
        self._idf_unseen = lexical.idf_unseen
        features, columns, rows = [], [], []
        for feature, j in lexical.vocab.items():
            if _has_meaning_vector(feature):
                r = vectors.row(feature[2:])
                if r >= 0:
                    features.append(feature)
                    columns.append(j)
                    rows.append(r)
        self.features = features
        self.rows = np.asarray(rows, dtype=np.int32)
        # Only the vectors the FAQ uses take part in a question's product (often far fewer than
        # the table's 20,000 rows); ``_use`` maps each FAQ word to its vector among them.
        used, self._use = np.unique(self.rows, return_inverse=True)
        self._used = vectors.table[used]
        self._starts = lexical.phrasing_starts
        self._n_entries = lexical.n_entries
        self.phrasing_vectors = self._phrasing_vectors(lexical, np.asarray(columns, np.int64), used)

    def _phrasing_vectors(
        self, lexical: LexicalIndex, cols: np.ndarray, used: np.ndarray
    ) -> np.ndarray:
        """Per phrasing row: its own mean vector plus its entry's, both at unit length. The
        phrasing keeps near-identical questions apart (「1号館の駐車場」/「2号館の駐車場」 with
        different answers); the entry brings the words of its answer, keywords and category."""
        if not len(cols) or not lexical.n_entries:
            return np.zeros((0, self.vectors.dimension), np.float32)
        idf = lexical.idf[cols].reshape(1, -1)
        to_used = sparse.csr_matrix(
            (np.ones(len(cols), np.float32), (np.arange(len(cols)), self._use)),
            shape=(len(cols), len(used)),
        )

        def mean(weights: sparse.spmatrix) -> np.ndarray:
            summed = (weights.multiply(idf).tocsr() @ to_used) @ self._used
            return unit_rows(np.asarray(summed, np.float32))

        entries = mean(lexical.mentions[:, cols])
        phrasings = (lexical.phrasings[:, cols].tocsr() > 0).astype(np.float32)
        owner = np.repeat(
            np.arange(lexical.n_entries), np.diff(np.append(self._starts, phrasings.shape[0]))
        )
        return unit_rows(mean(phrasings) + entries[owner])

    def related(
        self, queries: list[tuple[str, tuple[str, ...]]], floor: float, limit: int
    ) -> list[dict[str, float]]:
        """Per ``(word, parts)``: up to ``limit`` FAQ word features (``w:…``) whose cosine with
        it is at least ``floor``, each with ``(cos - floor) / (1 - floor)``."""
        out: list[dict[str, float]] = [{} for _ in queries]
        found = [
            (i, v)
            for i, q in enumerate(queries)
            if _has_meaning_vector(f"w:{q[0]}") and (v := self.vectors.word_vector(*q)) is not None
        ]
        if not found or not len(self.rows):
            return out
        sims = (self._used @ np.stack([v for _, v in found]).T)[self._use]
        span = max(1e-6, 1.0 - floor)
        for column, (i, _) in enumerate(found):
            s = sims[:, column]
            top = np.flatnonzero(s >= floor)
            if len(top) > limit:
                top = top[np.argpartition(-s[top], limit - 1)[:limit]]
            out[i] = {self.features[j]: float((s[j] - floor) / span) for j in top}
        return out

    def cosine(self, features: Sequence[str]) -> np.ndarray:
        """Per entry: the best cosine of its phrasings' vectors with the question's mean vector
        (``w:`` features, each weighted by its idf; 0 everywhere when no word has a vector)."""
        total = np.zeros(self.vectors.dimension, np.float32)
        for f in set(features):
            if _has_meaning_vector(f):
                r = self.vectors.row(f[2:])
                if r >= 0:
                    j = self._vocab.get(f)
                    idf = float(self._idf[j]) if j is not None else self._idf_unseen
                    total += idf * self.vectors.table[r]
        norm = float(np.linalg.norm(total))
        if norm <= 0 or not len(self.phrasing_vectors):
            return np.zeros(self._n_entries, np.float32)
        return np.maximum.reduceat(self.phrasing_vectors @ (total / norm), self._starts)


def _has_meaning_vector(feature: str) -> bool:
    """Words (``w:``) only, not verb/noun stems (``w:…~``), and no numbers: the vectors of 3 and
    4 are close, but 3歳 and 4歳, 1号館 and 2号館 are different things."""
    return (
        feature.startswith("w:")
        and not feature.endswith("~")
        and not any(c.isdigit() for c in feature)
    )
