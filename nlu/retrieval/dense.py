"""Optional dense ranker: a sentence-transformers model and a faiss index.

The model (``retrieval.embedding_model``: a local directory or a hub name) is loaded lazily,
with ``local_files_only=True`` unless ``allow_download`` is set, so an offline machine never
waits on hub retries. A model that cannot be loaded gives ONE warning and search continues
lexical-only. Small indexes use exact inner product (``IndexFlatIP``); above
``approximate_index_above`` passages an HNSW graph (inner product) is used instead.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence

import numpy as np

log = logging.getLogger(__name__)


class ModelUnavailable(RuntimeError):
    pass


class DenseEncoder:
    """Wraps a sentence-transformers model with the configured query/passage prefixes."""

    def __init__(
        self,
        model_name: str,
        *,
        allow_download: bool = False,
        query_prefix: str = "",
        passage_prefix: str = "",
        batch_size: int = 32,
    ) -> None:
        self.model_name = model_name
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix
        self.batch_size = batch_size
        self._lock = threading.Lock()
        self._model = self._load(model_name, allow_download)
        self.dimension = int(self._encode(["test"]).shape[1])

    @staticmethod
    def _load(model_name: str, allow_download: bool):
        from nlu.retrieval.config import resolve_model_path

        path = resolve_model_path(model_name)
        if path is None and not allow_download:
            raise ModelUnavailable(
                f"model {model_name!r} is not a local directory and downloads are not allowed "
                "(retrieval.allow_download: false); put it under models/ with `make model`"
            )
        previous = os.environ.get("HF_HUB_OFFLINE")
        if not allow_download:
            os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        try:
            try:  # no tqdm bars: they fiddle with multiprocessing in the action server
                from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()
            except Exception:
                pass
            from sentence_transformers import SentenceTransformer

            return SentenceTransformer(
                str(path or model_name), device="cpu", local_files_only=not allow_download
            )
        except Exception as error:  # any loading problem means: lexical only
            raise ModelUnavailable(f"{type(error).__name__}: {error}") from error
        finally:
            if not allow_download:
                if previous is None:
                    os.environ.pop("HF_HUB_OFFLINE", None)
                else:
                    os.environ["HF_HUB_OFFLINE"] = previous

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:  # torch modules are not re-entrant across threads safely
            vectors = self._model.encode(
                list(texts),
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode([self.query_prefix + t for t in texts])

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode([self.passage_prefix + t for t in texts])


class DenseIndex:
    """Passage vectors in faiss; an entry scores by its best passage."""

    def __init__(
        self,
        vectors: np.ndarray,
        passage_entry: np.ndarray,
        n_entries: int,
        approximate_above: int = 20_000,
    ) -> None:
        import faiss

        self.n_entries = n_entries
        self.passage_entry = np.asarray(passage_entry, dtype=np.int64)
        dim = vectors.shape[1] if vectors.ndim == 2 and vectors.shape[0] else 1
        self.approximate = len(vectors) > approximate_above
        if self.approximate:
            index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = 80
            index.hnsw.efSearch = 128
        else:
            index = faiss.IndexFlatIP(dim)
        if len(vectors):
            index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        self.index = index

    def search(self, query_vector: np.ndarray, n: int = 100) -> np.ndarray:
        """Cosine of each entry's best passage among the top ``n`` passages; others -1."""
        out = np.full(self.n_entries, -1.0, dtype=np.float32)
        if self.index.ntotal == 0:
            return out
        k = min(n, self.index.ntotal)
        sims, ids = self.index.search(query_vector.reshape(1, -1).astype(np.float32), k)
        for sim, pid in zip(sims[0], ids[0], strict=False):
            if pid < 0:
                continue
            e = self.passage_entry[pid]
            if sim > out[e]:
                out[e] = sim
        return out
