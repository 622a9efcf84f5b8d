"""Latent semantic ranker (LSA) learned from the FAQ's own texts: no external weights.

Residents often use none of an entry's words (「公的に証明する紙」 for 住民票). Words that occur
together in the FAQ's answers (住所・証明・写し) end up close in a low-rank term space, so a
question can land near an entry through words the entry's answers share with other entries.

- Documents: per entry, its question and alternates (``QUESTION_REPEAT`` times: the question is
  what an entry is about), keywords, category and answer text, as ``w:`` (words), ``s:``
  (SudachiDict synonym groups) and ``k:`` (single kanji) features. Character and reading n-grams
  are left out: they tie texts by spelling, not meaning.
- ``1 + log tf`` times a smoothed idf, rows scaled to unit length, then a rank-``rank`` truncated
  SVD (randomised, fixed seed: the same FAQ always gives the same basis).
- Entries and questions are *folded in*: their tf-idf vector times the term basis, scaled to unit
  length; a question scores each entry by cosine similarity.

The basis is fitted once and reused while the FAQ changes: an edited or new entry is folded into
the existing basis (a matrix product), and the basis is re-fitted when the entries changed since
the fit exceed ``refit_fraction`` of the entries it was fitted on (new words then take part).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from nlu.retrieval.fusion import calibrate_cosine, unit_rows

LATENT_KINDS = ("w", "s", "k")
QUESTION_REPEAT = 2
_OVERSAMPLE = 10
_POWER_ITERATIONS = 4


def latent_features(
    phrasings: Iterable[Sequence[str]], fields: Iterable[Sequence[str]]
) -> Counter[str]:
    """Term counts of one entry: its phrasings count ``QUESTION_REPEAT`` times, the other fields
    once."""
    counts: Counter[str] = Counter()
    for feats in phrasings:
        for f in feats:
            if f[0] in LATENT_KINDS:
                counts[f] += QUESTION_REPEAT
    for feats in fields:
        counts.update(f for f in feats if f[0] in LATENT_KINDS)
    return counts


def _randomized_svd(x: sparse.csr_matrix, rank: int) -> np.ndarray:
    """The top ``rank`` right singular vectors of ``x`` (rank × terms), Halko et al.'s range
    finder with power iterations; numpy and scipy only."""
    rng = np.random.default_rng(0)
    k = min(rank + _OVERSAMPLE, min(x.shape))
    q = x @ rng.standard_normal((x.shape[1], k)).astype(np.float32)
    xt = x.T.tocsr()
    for _ in range(_POWER_ITERATIONS):
        q, _ = np.linalg.qr(q)
        q, _ = np.linalg.qr(xt @ q)
        q = x @ q
    q, _ = np.linalg.qr(q)
    b = np.asarray(xt @ q).T  # k × terms
    _, _, vt = np.linalg.svd(b, full_matrices=False)
    return vt[: min(rank, k)].astype(np.float32)


@dataclass(frozen=True)
class LatentBasis:
    """A fitted term space: vocabulary, idf and the rank × terms basis."""

    vocab: dict[str, int]
    idf: np.ndarray
    components: np.ndarray
    fitted_on: int

    @classmethod
    def fit(cls, documents: Sequence[Counter[str]], rank: int) -> LatentBasis | None:
        """``None`` when the FAQ is too small or has no terms (the ranker then stays off)."""
        vocab: dict[str, int] = {}
        for doc in documents:
            for term in doc:
                vocab.setdefault(term, len(vocab))
        if rank < 1 or len(documents) < 3 or len(vocab) < 3:
            return None
        df = np.zeros(len(vocab), dtype=np.float64)
        for doc in documents:
            df[[vocab[t] for t in doc]] += 1
        n = len(documents)
        idf = (np.log((1.0 + n) / (1.0 + df)) + 1.0).astype(np.float32)
        basis = cls(vocab, idf, np.zeros((0, len(vocab)), np.float32), n)
        x = basis._tfidf(documents)
        return cls(vocab, idf, _randomized_svd(x, rank), n)

    def _tfidf(self, documents: Sequence[Counter[str]]) -> sparse.csr_matrix:
        indptr = [0]
        indices: list[int] = []
        data: list[float] = []
        get = self.vocab.get
        for doc in documents:
            for term, tf in doc.items():
                j = get(term)
                if j is not None:
                    indices.append(j)
                    data.append((1.0 + math.log(tf)) * float(self.idf[j]))
            indptr.append(len(indices))
        x = sparse.csr_matrix(
            (np.asarray(data, np.float32), np.asarray(indices, np.int64), np.asarray(indptr)),
            shape=(len(documents), len(self.vocab)),
        )
        norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
        return sparse.diags(np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)) @ x

    def project(self, documents: Sequence[Counter[str]]) -> np.ndarray:
        """Unit-length latent vectors of the documents (zero rows for documents with no known
        term)."""
        if not documents:
            return np.zeros((0, len(self.components)), np.float32)
        return unit_rows(np.asarray(self._tfidf(documents) @ self.components.T, np.float32))

    def known_share(self, counts: Counter[str]) -> float:
        """The idf-weighted share of the question's terms that the basis knows (a term no entry
        has weighs like the rarest). A question of unknown words with one common known word
        (「ふにゃもげ装置は何ごみ？」) must not get a confident cosine from that word alone."""
        rarest = math.log(1.0 + self.fitted_on) + 1.0
        total = known = 0.0
        for term, tf in counts.items():
            j = self.vocab.get(term)
            weight = (1.0 + math.log(tf)) * (rarest if j is None else float(self.idf[j]))
            total += weight
            if j is not None:
                known += weight
        return known / total if total > 0 else 0.0


def latent_scores(
    basis: LatentBasis, doc_vectors: np.ndarray, features: Iterable[str], floor: float
) -> np.ndarray:
    """Per entry: the question's cosine with the entry mapped to 0-1 with ``floor``
    (``fusion.calibrate_cosine``), times the share of the question the basis knows. 0 for a
    question with no known term."""
    counts = Counter(f for f in features if f[0] in LATENT_KINDS)
    share = basis.known_share(counts)
    if share <= 0 or not len(doc_vectors):
        return np.zeros(len(doc_vectors), np.float32)
    query = basis.project([counts])[0]
    return calibrate_cosine(doc_vectors @ query, floor) * share
