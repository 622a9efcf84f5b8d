"""Lexical ranker: BM25 over match features, per-field weights, best phrasing wins.

Rows:
- one row per *phrasing* (the question and each alternate question); an entry takes the best
  of its phrasings;
- one row per entry for each other field (keywords, category, answer text).

``score(entry) = w_question * max_phrasing BM25 + sum_f w_f * BM25_f``, where each BM25 term is
``qw(t) * idf(t) * tf·(k1+1) / (tf + k1·(1 - b + b·len/avg_len))``, ``idf`` is computed over
entries and ``qw`` is the query-side weight of the feature's kind.

**Calibration.** The raw score is divided by the query's *self-match score*,
``sum_t qw(t) * idf(t)`` over all query features, seen or not (an unseen feature gets the idf
of a term in no entry), then mapped to [0, 1) by ``1 - exp(-x)``. A phrasing that contains
every informative part of the question scores about 0.63, whatever the size of the index; a
question about things the FAQ never mentions
(天気, ラーメン) scores low because its unseen words weigh heavily in the denominator.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from nlu.retrieval.features import QueryUnit

ENTRY_FIELDS = ("keywords", "category", "answer")


@dataclass(frozen=True)
class IndexParams:
    """``retrieval.bm25_k1``, ``bm25_b``, ``field_weights`` and ``answer_coverage``: how much a
    word found only in an entry's answer text counts for coverage (1 = like in its question)."""

    k1: float
    b: float
    field_weights: dict[str, float]
    answer_coverage: float


@dataclass
class EntryFeatures:
    phrasings: list[Sequence[str]]
    fields: dict[str, Sequence[str]]


def _bm25_matrix(
    rows: list[Sequence[str]], vocab: dict[str, int], k1: float, b: float
) -> sparse.csr_matrix:
    indptr = [0]
    indices: list[int] = []
    data: list[float] = []
    setdefault = vocab.setdefault
    for feats in rows:
        counts = Counter(feats)
        for term, tf in counts.items():
            indices.append(setdefault(term, len(vocab)))
            data.append(tf)
        indptr.append(len(indices))
    indptr_a = np.asarray(indptr, dtype=np.int64)
    tf = np.asarray(data, dtype=np.float32)
    row_ids = np.repeat(np.arange(len(rows), dtype=np.int64), np.diff(indptr_a))
    lengths = np.bincount(row_ids, weights=tf, minlength=len(rows)).astype(np.float32)
    avg = float(lengths[lengths > 0].mean()) if np.any(lengths > 0) else 1.0
    row_len = lengths[row_ids]
    weights = tf * (k1 + 1.0) / (tf + k1 * (1.0 - b + b * row_len / avg))
    return sparse.csr_matrix(
        (weights.astype(np.float32), np.asarray(indices, dtype=np.int64), indptr_a),
        shape=(len(rows), 0 if not indices else max(indices) + 1),
    )


class LexicalIndex:
    def __init__(self, entries: Sequence[EntryFeatures], params: IndexParams):
        self.params = params
        fw = self.params.field_weights
        self.n_entries = len(entries)
        self.vocab: dict[str, int] = {}
        phrasing_rows: list[Sequence[str]] = []
        starts: list[int] = []
        for e in entries:
            starts.append(len(phrasing_rows))
            phrasing_rows.extend(e.phrasings or [()])
        self.phrasing_starts = np.asarray(starts, dtype=np.int64)
        k1, b = self.params.k1, self.params.b
        phr = _bm25_matrix(phrasing_rows, self.vocab, k1, b)
        field_mats = []
        for name in ENTRY_FIELDS:
            w = fw.get(name, 0.0)
            if w <= 0:
                continue
            m = _bm25_matrix([e.fields.get(name, ()) for e in entries], self.vocab, k1, b)
            field_mats.append((name, w, m))
        v = len(self.vocab)
        phr = _resize(phr, v)
        # Document frequency over entries: a term counts once per entry, whatever the field.
        bounds = np.asarray([*starts, len(phrasing_rows)], dtype=np.int64)
        owner = np.repeat(np.arange(self.n_entries, dtype=np.int64), np.diff(bounds))
        presence = sparse.csr_matrix(
            (np.ones(phr.nnz, dtype=np.float32), phr.indices, phr.indptr), shape=phr.shape
        )
        agg = sparse.csr_matrix(
            (np.ones(len(owner), dtype=np.float32), (owner, np.arange(len(owner)))),
            shape=(self.n_entries, len(phrasing_rows)),
        )
        entry_presence = agg @ presence
        answer_presence = None
        entry_matrix = sparse.csr_matrix((self.n_entries, v), dtype=np.float32)
        for name, w, m in field_mats:
            m = _resize(m, v)
            if name == "answer":
                answer_presence = (m > 0).astype(np.float32)
            else:
                entry_presence = entry_presence + (m > 0).astype(np.float32)
            entry_matrix = entry_matrix + w * m
        main_presence = (entry_presence > 0).astype(np.float32)
        mentions = entry_presence
        if answer_presence is not None:
            entry_presence = entry_presence + answer_presence
        df = np.asarray((entry_presence > 0).sum(axis=0)).ravel().astype(np.float64)
        n = max(1, self.n_entries)
        self.idf = np.log1p((n - df + 0.5) / (df + 0.5)).astype(np.float32)
        self.idf_unseen = float(np.log1p((n + 0.5) / 0.5))
        # Coverage credit per (entry, feature): 1 in a phrasing, keywords or category,
        # ``answer_coverage`` when only the answer text has it.
        credit = main_presence
        if answer_presence is not None:
            a = min(1.0, max(0.0, self.params.answer_coverage))
            credit = credit.maximum(a * answer_presence) if a > 0 else credit
            mentions = mentions + a * answer_presence
        self.credit = credit.tocsr()
        # How often each entry mentions each feature (each phrasing row, keywords and category
        # count 1, the answer text ``answer_coverage``): word weights of entries' mean vectors.
        self.mentions = mentions.tocsr()
        self.phrasings = (fw.get("question", 1.0) * phr).tocsc()
        self.entry_matrix = entry_matrix.tocsc()
        self.n_phrasings = len(phrasing_rows)

    def score(
        self,
        query: dict[str, float],
        optional: frozenset[str] | set[str] = frozenset(),
        related: dict[str, float] | None = None,
    ) -> tuple[np.ndarray, float]:
        """(raw entry scores, the query's self-match score). Divide the first by the second.

        ``optional`` features (the words of a synonym term the query used) do not count against
        the query when no entry has them: the synonym group stands for them."""
        cols: list[int] = []
        weights: list[float] = []
        denom = 0.0
        get = self.vocab.get
        for term, qw in query.items():
            j = get(term)
            if j is None:
                if term not in optional:
                    denom += qw * self.idf_unseen
                continue
            w = qw * float(self.idf[j])
            denom += w
            cols.append(j)
            weights.append(w)
        # Words close in meaning add evidence but are not part of what the question asked for.
        for term, qw in (related or {}).items():
            j = get(term)
            if j is not None and term not in query:
                cols.append(j)
                weights.append(qw * float(self.idf[j]))
        scores = np.zeros(self.n_entries, dtype=np.float32)
        if not cols or self.n_entries == 0:
            return scores, denom
        qv = np.asarray(weights, dtype=np.float32)
        phr = self.phrasings[:, cols] @ qv
        scores += np.maximum.reduceat(phr, self.phrasing_starts)
        if self.entry_matrix.nnz:
            scores += self.entry_matrix[:, cols] @ qv
        return scores, denom

    def normalized_scores(
        self,
        query: dict[str, float],
        optional: frozenset[str] | set[str] = frozenset(),
        related: dict[str, float] | None = None,
    ) -> np.ndarray:
        """Scores in [0, 1): ``1 - exp(-raw / self_score)``. A phrasing matching the whole
        question gives about 0.63; matches in several fields push it towards 1."""
        raw, denom = self.score(query, optional, related)
        if denom <= 0:
            return raw
        return -np.expm1(-raw / denom)

    def coverage(
        self,
        units: Sequence[QueryUnit],
        candidates: np.ndarray,
        optional: frozenset[str] | set[str] = frozenset(),
        synonym_keys: Sequence[str] = (),
        related: Sequence[dict[str, float]] = (),
    ) -> np.ndarray:
        """Share of the question's content words (weighted by idf; a word no entry has weighs
        like the rarest) that each candidate mentions: a word counts fully when the entry has
        the word, its stem or one of its synonym groups, partly by the share of its parts,
        reading trigrams or character bigrams the entry has. Words of a staff synonym term
        (``optional``) count as mentioned when the entry has one of the question's
        ``synonym_keys`` (``u:`` features). ``related``, one per unit: features close in meaning
        to the word (word vectors), each with the credit an entry having it earns."""
        out = np.zeros(len(candidates), dtype=np.float32)
        if not units or not len(candidates):
            return out
        get = self.vocab.get
        columns: dict[int, int] = {}

        def cols(feats: Sequence[str]) -> list[int]:
            found = []
            for f in feats:
                j = get(f)
                if j is not None:
                    found.append(columns.setdefault(j, len(columns)))
            return found

        specs = []
        for i, u in enumerate(units):
            j = get(u.term)
            weight = u.scale * (float(self.idf[j]) if j is not None else self.idf_unseen)
            strong = list(u.strong)
            if u.term in optional:
                strong.extend(synonym_keys)
            near = related[i] if i < len(related) else {}
            near_cols = cols(list(near))
            near_credit = [near[f] for f in near if get(f) is not None]
            specs.append(
                (
                    weight,
                    cols(strong),
                    [(cols(g), len(g)) for g in (u.parts, u.reading, u.chars) if g],
                    (near_cols, np.asarray(near_credit, dtype=np.float32)),
                )
            )
        total = sum(spec[0] for spec in specs)
        if total <= 0 or not columns:
            return out
        sub = self.credit[candidates][:, list(columns)].toarray()
        for weight, strong, partial, (near_cols, near_credit) in specs:
            degree = np.zeros(len(candidates), dtype=np.float32)
            if strong:
                degree = sub[:, strong].max(axis=1)
            for found, n in partial:
                if found:
                    degree = np.maximum(degree, sub[:, found].sum(axis=1) / n)
            if near_cols:
                degree = np.maximum(degree, (sub[:, near_cols] * near_credit).max(axis=1))
            out += weight * degree
        return out / total

    def memory_bytes(self) -> int:
        total = 0
        for m in (self.phrasings, self.entry_matrix, self.credit, self.mentions):
            total += m.data.nbytes + m.indices.nbytes + m.indptr.nbytes
        return total + self.idf.nbytes


def _resize(m: sparse.csr_matrix, v: int) -> sparse.csr_matrix:
    if m.shape[1] == v:
        return m
    return sparse.csr_matrix((m.data, m.indices, m.indptr), shape=(m.shape[0], v))
