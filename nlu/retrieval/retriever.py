"""The public search API: :class:`Retriever`.

One ``Retriever`` per process serves every thread. It builds its index from the store on first
use, then checks a cheap change marker at most every ``refresh_interval_seconds`` and re-analyses
only the entries whose version changed (synonym edits re-use the cached analyses), so staff
edits show in search within about a second with no restart. Searches in other threads keep
using the previous index while a rebuild runs.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from nlu.normalizer import JapaneseNormalizer, dictionary_version, get_normalizer
from nlu.retrieval.config import RetrievalConfig
from nlu.retrieval.decision import Thresholds, decide
from nlu.retrieval.documents import EntryRecord
from nlu.retrieval.features import (
    QueryUnit,
    TextAnalysis,
    analyze,
    query_weights,
    with_synonyms,
)
from nlu.retrieval.fusion import calibrate_cosine, fuse
from nlu.retrieval.index import EntryFeatures, IndexParams, LexicalIndex
from nlu.retrieval.latent import LatentBasis, latent_features, latent_scores
from nlu.retrieval.spelling import KanaSpeller
from nlu.retrieval.types import Hit, SearchResult
from nlu.retrieval.word_vectors import FaqVectors, VectorsUnavailable, WordVectors
from nlu.synonyms import SynonymGroupDef, SynonymSet, read_sudachi_synonyms

log = logging.getLogger("nlu.retrieval")
T = TypeVar("T")


@dataclass
class _Cached:
    key: tuple[Any, ...]
    record: EntryRecord
    phrasings: list[TextAnalysis]
    fields: dict[str, TextAnalysis]
    vectors: np.ndarray | None = None  # dense passage vectors, when a model is loaded
    latent: np.ndarray | None = None  # folded into the current latent basis

    def spellings(self) -> Counter[tuple[str, str]]:
        analyses = [*self.phrasings, *self.fields.values()]
        return Counter(p for a in analyses for p in set(a.spellings))

    def latent_terms(self) -> Counter[str]:
        return latent_features(
            (a.base for a in self.phrasings), (a.base for a in self.fields.values())
        )


@dataclass(frozen=True)
class _Snapshot:
    records: list[EntryRecord]
    lexical: LexicalIndex
    published: np.ndarray
    synonyms: SynonymSet
    config: RetrievalConfig
    marker: tuple[Any, ...]
    meta: tuple[str, str]
    built_at: float
    build_seconds: float
    dense: Any = None
    latent: tuple[LatentBasis, np.ndarray] | None = None  # basis, unit entry vectors
    word_vectors: FaqVectors | None = None
    speller: KanaSpeller = field(default_factory=lambda: KanaSpeller(Counter()))
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Query:
    weights: dict[str, float] = field(default_factory=dict)
    optional: set[str] = field(default_factory=set)
    units: list[QueryUnit] = field(default_factory=list)
    synonym_keys: list[str] = field(default_factory=list)
    terms: tuple[str, ...] = ()  # the question's own features, for the latent ranker


def _load_logged(
    what: str, name: str, load: Callable[[], T], unavailable: type[Exception], without: str
) -> tuple[T | None, str | None]:
    """``load()`` with one INFO line giving the time taken, or, when it raises ``unavailable``,
    ``(None, warning)`` after logging the warning once: what search does ``without`` it."""
    started = time.perf_counter()
    try:
        loaded = load()
    except unavailable as error:
        warning = f"{what}「{name}」を読み込めなかったため、{without}（{error}）。"
        log.warning(warning)
        return None, warning
    log.info("%s %s を読み込みました（%.1f 秒）。", what, name, time.perf_counter() - started)
    return loaded, None


def _phrasing_rows(rows: list[Sequence[str]]) -> list[Sequence[str]]:
    """Each phrasing, plus all of them together when there are several: a question may combine
    words that the entry spreads over its question and an alternate."""
    if len(rows) < 2:
        return rows
    return [*rows, tuple(f for row in rows for f in row)]


class Retriever:
    """Search over the store's QA entries. Thread-safe."""

    def __init__(
        self,
        config: RetrievalConfig | None = None,
        url: str | None = None,
        normalizer: JapaneseNormalizer | None = None,
    ) -> None:
        self.config = config or RetrievalConfig()
        self.url = url
        self._normalizer = normalizer
        self._lock = threading.Lock()
        self._snapshot: _Snapshot | None = None
        self._cache: dict[int, _Cached] = {}
        # Over self._cache; counts fall to 0 (not removed) when entries go.
        self._spelling_counts: Counter[tuple[str, str]] = Counter()
        self._last_check = 0.0
        self._encoder = None
        self._encoder_tried = False
        self._warning: str | None = None
        self._lexical_notice_logged = False
        self._refresh_failed = False
        self._file_groups: tuple[Any, list[SynonymGroupDef]] | None = None
        self._latent_basis: LatentBasis | None = None
        self._latent_changes = 0  # entries changed since the basis was fitted
        self._word_vectors: WordVectors | None = None
        self._word_vectors_tried = False
        self._word_vectors_warning: str | None = None

    @classmethod
    def from_settings(cls, settings: Any = None, url: str | None = None) -> Retriever:
        """A retriever configured from ``qa_data.settings`` (or the given settings object),
        reading the store at ``url`` (default: the settings' database)."""
        if settings is None:
            from qa_data.settings import get_settings

            settings = get_settings()
        if url is None and hasattr(settings, "resolved_database_url"):
            url = settings.resolved_database_url
        return cls(RetrievalConfig.from_settings(settings), url=url)

    # -- helpers ----------------------------------------------------------------------------
    @property
    def normalizer(self) -> JapaneseNormalizer:
        if self._normalizer is None:
            self._normalizer = get_normalizer()
        return self._normalizer

    def _session(self):
        from qa_data.db import session_scope

        return session_scope(self.url)

    def _meta(self) -> tuple[str, str]:
        return (dictionary_version(), self.config.embedding_model or "")

    # -- dense model --------------------------------------------------------------------------
    def _get_encoder(self):
        if self._encoder is not None or self._encoder_tried:
            return self._encoder
        self._encoder_tried = True
        name = self.config.embedding_model
        if not name:
            if not self._lexical_notice_logged:
                log.info("埋め込みモデルが設定されていないため、語彙検索のみで動作します。")
                self._lexical_notice_logged = True
            return None
        from nlu.retrieval.dense import DenseEncoder, ModelUnavailable

        self._encoder, self._warning = _load_logged(
            "埋め込みモデル",
            name,
            lambda: DenseEncoder(
                name,
                allow_download=self.config.allow_download,
                query_prefix=self.config.query_prefix,
                passage_prefix=self.config.passage_prefix,
            ),
            ModelUnavailable,
            "語彙検索のみで動作します",
        )
        return self._encoder

    def _get_word_vectors(self) -> WordVectors | None:
        if self._word_vectors_tried:
            return self._word_vectors
        self._word_vectors_tried = True
        name = self.config.word_vectors
        if not name:
            return None
        self._word_vectors, self._word_vectors_warning = _load_logged(
            "単語ベクトル",
            name,
            lambda: WordVectors.load(name),
            VectorsUnavailable,
            "意味の近い語による照合は行いません",
        )
        return self._word_vectors

    # -- building -----------------------------------------------------------------------------
    def _synonym_groups(self, store_groups: list[SynonymGroupDef]) -> SynonymSet:
        groups = list(store_groups)
        path = self.config.synonyms_file
        if path:
            p = Path(path)
            if not p.is_absolute():
                from nlu.retrieval.config import PROJECT_ROOT

                p = PROJECT_ROOT / p
            try:
                stamp = (str(p), p.stat().st_mtime_ns)
                if self._file_groups is None or self._file_groups[0] != stamp:
                    self._file_groups = (stamp, read_sudachi_synonyms(p))
                groups.extend(self._file_groups[1])
            except OSError as error:
                if self._file_groups is None or self._file_groups[0] != ("missing", str(p)):
                    log.warning("同義語ファイル %s を読み込めません: %s", p, error)
                    self._file_groups = (("missing", str(p)), [])
        return SynonymSet(groups, self.normalizer)

    def _analyse(self, record: EntryRecord, key: tuple[Any, ...]) -> _Cached:
        def faq(text: str, ngrams: bool = True) -> TextAnalysis:
            return analyze(self.normalizer, text, ngrams=ngrams, faq_spellings=True)

        phrasings = [faq(record.question)]
        phrasings.extend(faq(a) for a in record.alternates)
        fields = {
            "keywords": faq(" ".join(record.keywords)),
            "category": faq(record.category),
            "answer": faq(record.answer_text, ngrams=self.config.answer_ngrams),
        }
        return _Cached(key=key, record=record, phrasings=phrasings, fields=fields)

    def _passages(self, record: EntryRecord) -> list[str]:
        out = [record.question, *record.alternates]
        if record.answer_text:
            out.append(f"{record.question} {record.answer_text[:200]}")
        return out

    def refresh(self, force: bool = False) -> None:
        """Check the store now (normally automatic) and rebuild what changed."""
        with self._lock:
            self._refresh_locked(force=force)

    def _refresh_locked(self, force: bool = False) -> None:
        from nlu.retrieval.documents import (
            change_marker,
            entry_versions,
            load_entries,
            tuned_settings,
        )
        from nlu.synonyms import load_store_groups

        self._last_check = time.monotonic()
        meta = self._meta()
        with self._session() as session:
            marker = change_marker(session)
            snap = self._snapshot
            if not force and snap is not None and snap.marker == marker and snap.meta == meta:
                return
            started = time.perf_counter()
            if snap is not None and snap.meta != meta:
                self._cache.clear()
                self._spelling_counts.clear()
                self._latent_basis = None
            versions = entry_versions(session)
            changed = [
                pk
                for pk, key in versions.items()
                if pk not in self._cache or self._cache[pk].key != key
            ]
            records = load_entries(session, changed) if changed else []
            store_groups = load_store_groups(session)
            tuned = tuned_settings(session)
        removed = [pk for pk in self._cache if pk not in versions]
        for pk in removed:
            self._spelling_counts.subtract(self._cache.pop(pk).spellings())
        self._latent_changes += len(records) + len(removed)
        for record in records:
            if record.pk in self._cache:
                self._spelling_counts.subtract(self._cache[record.pk].spellings())
            self._cache[record.pk] = self._analyse(record, versions.get(record.pk))
            self._spelling_counts.update(self._cache[record.pk].spellings())
        config = self.config.with_overrides(tuned)
        synonyms = self._synonym_groups(store_groups)
        cached = [self._cache[pk] for pk in sorted(self._cache)]
        entries = [
            EntryFeatures(
                phrasings=_phrasing_rows([with_synonyms(a, synonyms) for a in c.phrasings]),
                fields={k: with_synonyms(a, synonyms) for k, a in c.fields.items()},
            )
            for c in cached
        ]
        params = IndexParams(
            k1=config.bm25_k1,
            b=config.bm25_b,
            field_weights=config.field_weights,
            answer_coverage=config.answer_coverage,
        )
        lexical = LexicalIndex(entries, params)
        dense = self._build_dense(cached)
        latent = self._build_latent(cached, config)
        vectors = self._get_word_vectors()
        faq_vectors = FaqVectors(vectors, lexical) if vectors is not None else None
        recs = [c.record for c in cached]
        published = np.fromiter((r.published for r in recs), dtype=bool, count=len(recs))
        seconds = time.perf_counter() - started
        self._snapshot = _Snapshot(
            records=recs,
            lexical=lexical,
            published=published,
            synonyms=synonyms,
            config=config,
            marker=marker,
            meta=meta,
            built_at=time.time(),
            build_seconds=seconds,
            dense=dense,
            latent=latent,
            word_vectors=faq_vectors,
            speller=KanaSpeller(self._spelling_counts),
            info={"reanalysed": len(records)},
        )
        log.debug(
            "index rebuilt: %d entries (%d re-analysed) in %.3f s", len(recs), len(records), seconds
        )

    def _build_dense(self, cached: Sequence[_Cached]):
        encoder = self._get_encoder()
        if encoder is None:
            return None
        from nlu.retrieval.dense import DenseIndex

        todo = [c for c in cached if c.vectors is None]
        if todo:
            texts: list[str] = []
            counts: list[int] = []
            for c in todo:
                passages = self._passages(c.record)
                texts.extend(passages)
                counts.append(len(passages))
            vectors = encoder.encode_passages(texts) if texts else np.zeros((0, encoder.dimension))
            pos = 0
            for c, count in zip(todo, counts, strict=True):
                c.vectors = vectors[pos : pos + count]
                pos += count
        if not cached:
            return DenseIndex(np.zeros((0, encoder.dimension), np.float32), np.zeros(0), 0)
        all_vectors = np.vstack([c.vectors for c in cached])
        owner = np.repeat(np.arange(len(cached)), [len(c.vectors) for c in cached])
        return DenseIndex(all_vectors, owner, len(cached), self.config.approximate_index_above)

    def _build_latent(
        self, cached: Sequence[_Cached], config: RetrievalConfig
    ) -> tuple[LatentBasis, np.ndarray] | None:
        """The latent basis and every entry's vector. Changed entries are folded into the
        existing basis; it is re-fitted when more than ``latent_refit_fraction`` of the entries
        it was fitted on changed."""
        if config.latent_weight <= 0 or config.latent_rank < 1 or not cached:
            self._latent_basis = None
            return None
        basis = self._latent_basis
        if basis is None or self._latent_changes > config.latent_refit_fraction * basis.fitted_on:
            basis = LatentBasis.fit([c.latent_terms() for c in cached], config.latent_rank)
            self._latent_basis = basis
            self._latent_changes = 0
            for c in cached:
                c.latent = None
            if basis is None:
                return None
        todo = [c for c in cached if c.latent is None]
        if todo:
            for c, v in zip(todo, basis.project([c.latent_terms() for c in todo]), strict=True):
                c.latent = v
        return basis, np.vstack([c.latent for c in cached])

    def _current(self) -> _Snapshot:
        snap = self._snapshot
        interval = max(0.0, self.config.refresh_interval_seconds)
        if snap is not None and time.monotonic() - self._last_check < interval:
            return snap
        # The first build blocks everyone; later refreshes run in one thread while the others
        # keep searching the previous snapshot.
        if self._lock.acquire(blocking=snap is None):
            try:
                if self._snapshot is None or time.monotonic() - self._last_check >= interval:
                    try:
                        self._refresh_locked()
                        self._refresh_failed = False
                    except Exception:
                        if self._snapshot is None:
                            raise
                        # The store is briefly unreachable: keep answering from the last index.
                        if not self._refresh_failed:
                            log.warning(
                                "検索インデックスを更新できません。前回の内容で検索します。",
                                exc_info=True,
                            )
                        self._refresh_failed = True
            finally:
                self._lock.release()
        return self._snapshot  # type: ignore[return-value]

    # -- search -------------------------------------------------------------------------------
    def _query_vector(self, snap: _Snapshot, text: str, context: str | None) -> _Query:
        """Weighted query features, the optional ones (words of synonym terms used), the content
        words for coverage and the staff synonym keys."""
        kinds = snap.config.feature_weights
        query = _Query()
        parts = [(text, 1.0)]
        if context and context.strip() and snap.config.context_weight > 0:
            parts.append((context, snap.config.context_weight))
        for i, (part, scale) in enumerate(parts):
            spelled = snap.speller.respell(self.normalizer, part)
            analysis = analyze(self.normalizer, spelled, units=scale)
            query.units.extend(analysis.units)
            if i == 0:  # an earlier question given as context would pull the topic
                query.terms = analysis.base
            feats = with_synonyms(analysis, snap.synonyms, side="query")
            for f, w in query_weights(feats, kinds, scale).items():
                if w > query.weights.get(f, 0.0):
                    query.weights[f] = w
                if f.startswith("u:") and f not in query.synonym_keys:
                    query.synonym_keys.append(f)
            if len(snap.synonyms):
                for term in snap.synonyms.query_terms_in(analysis.match_text):
                    query.optional.update(analyze(self.normalizer, term).base)
        return query

    def _related_words(self, snap: _Snapshot, query: _Query) -> list[dict[str, float]]:
        """Per content word of the question: FAQ words close in meaning, with their credit."""
        if snap.word_vectors is None:
            return [{} for _ in query.units]
        return snap.word_vectors.related(
            [(u.term[2:], tuple(p[2:] for p in u.parts)) for u in query.units],
            snap.config.related_floor,
            snap.config.related_limit,
        )

    def scores(
        self, text: str, include_drafts: bool = False, context: str | None = None
    ) -> tuple[_Snapshot, np.ndarray]:
        """Final scores of every indexed entry (``-1`` for entries not searchable).

        Lexical: ``bm25_norm ** (1 - e) * coverage ** e`` (``e``: ``coverage_exponent``) for
        the best ``rerank_depth`` entries (0 for the rest), where ``coverage`` is the idf-weighted
        share of the question's content words the entry mentions (``LexicalIndex.coverage``);
        fused with the calibrated latent (LSA) cosine (``latent_weight``), then with the
        calibrated dense similarity when a model is loaded."""
        snap = self._current()
        config = snap.config
        query = self._query_vector(snap, text, context)
        related = self._related_words(snap, query)
        expansion: dict[str, float] = {}
        for unit, near in zip(query.units, related, strict=True):
            for f, credit in near.items():
                w = config.related_expansion * unit.scale * credit
                if w > expansion.get(f, 0.0):
                    expansion[f] = w
        bm25 = snap.lexical.normalized_scores(query.weights, query.optional, expansion)
        lexical = np.zeros_like(bm25)
        depth = min(len(bm25), max(1, config.rerank_depth))
        if depth:
            top = (
                np.argpartition(-bm25, depth - 1)[:depth]
                if depth < len(bm25)
                else np.arange(len(bm25))
            )
            top = top[bm25[top] > 0]
            if len(top):
                cov = snap.lexical.coverage(
                    query.units, top, query.optional, query.synonym_keys, related
                )
                e = min(1.0, max(0.0, config.coverage_exponent))
                lexical[top] = np.clip(bm25[top], 0, None) ** (1 - e) * np.clip(cov, 0, 1) ** e
        scores = lexical
        if snap.latent is not None:
            # Only re-orders entries the lexical ranker found: a cosine alone, in a small FAQ,
            # is high for too many unrelated questions.
            basis, vectors = snap.latent
            latent = latent_scores(basis, vectors, query.terms, config.latent_floor)
            fused = fuse(scores, latent, config.latent_weight)
            scores = np.where(lexical > 0, fused, 0.0).astype(np.float32)
        if snap.word_vectors is not None and config.word_vector_weight > 0:
            near = calibrate_cosine(snap.word_vectors.cosine(query.terms), config.word_vector_floor)
            fused = fuse(scores, near, config.word_vector_weight)
            scores = np.where(lexical > 0, fused, 0.0).astype(np.float32)
        if snap.dense is not None and self._encoder is not None and config.dense_weight > 0:
            query_text = f"{context} {text}" if context else text
            qv = self._encoder.encode_queries([query_text])[0]
            cos = snap.dense.search(qv, config.dense_candidates)
            scores = fuse(scores, calibrate_cosine(cos, config.dense_floor), config.dense_weight)
        scores = scores.astype(np.float32, copy=True)
        if not include_drafts:
            scores[~snap.published] = -1.0
        return snap, scores

    def search(
        self,
        text: str,
        top_k: int | None = None,
        include_drafts: bool = False,
        context: str | None = None,
    ) -> SearchResult:
        text = text or ""
        snap = self._current()
        k = max(1, int(top_k or snap.config.top_k))
        if not text.strip() or not snap.records:
            return SearchResult(query=text, decision="no_match", hits=[])
        snap, scores = self.scores(text, include_drafts=include_drafts, context=context)
        n = len(scores)
        top = np.argpartition(-scores, min(k, n - 1))[: k + 1] if n > k + 1 else np.arange(n)
        top = top[np.argsort(-scores[top], kind="stable")]
        ranked = [int(i) for i in top if scores[i] > 0][: max(k, 2)]
        values = [float(scores[i]) for i in ranked]
        c = snap.config
        decision = decide(
            values,
            Thresholds(c.answer_threshold, c.answer_margin, c.no_match_threshold),
        )
        hits = []
        for i in ranked[:k]:
            r = snap.records[i]
            hits.append(
                Hit(
                    id=r.external_id,
                    question=r.question,
                    score=float(scores[i]),
                    department_id=r.department_id,
                    category=r.category.replace(" ", "/") or None,
                )
            )
        return SearchResult(query=text, decision=decision, hits=hits)

    def status(self) -> dict[str, Any]:
        """For the console and logs: mode, model, word vectors, warnings, index size and age."""
        snap = self._snapshot
        encoder_ok = self._encoder is not None
        if not self.config.embedding_model:
            self._get_encoder()  # logs the lexical-only notice once
        warnings = [w for w in (self._warning, self._word_vectors_warning) if w]
        return {
            "mode": "hybrid" if encoder_ok else "lexical",
            "model": self.config.embedding_model if encoder_ok else None,
            "configured_model": self.config.embedding_model,
            "word_vectors": self.config.word_vectors if self._word_vectors is not None else None,
            "warning": " ".join(warnings) or None,
            "message": (
                "語彙検索と埋め込み検索を併用しています。"
                if encoder_ok
                else "埋め込みモデルなし: 語彙検索のみで動作しています。"
            )
            + ("（単語ベクトルで意味の近い語も照合しています）" if self._word_vectors else ""),
            "dictionary_version": dictionary_version(),
            "entries": len(snap.records) if snap else 0,
            "published": int(snap.published.sum()) if snap else 0,
            "synonym_groups": len(snap.synonyms) if snap else 0,
            "built_at": snap.built_at if snap else None,
            "build_seconds": round(snap.build_seconds, 3) if snap else None,
            "approximate_dense_index": bool(
                snap and snap.dense is not None and snap.dense.approximate
            ),
        }
