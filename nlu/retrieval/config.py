"""Retrieval settings, read from ``qa_data.settings`` (section ``retrieval``) with defaults, and
overlaid with tuned values stored in ``AppSetting(key="retrieval")``."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from nlu.retrieval.features import DEFAULT_KIND_WEIGHTS
from nlu.retrieval.index import DEFAULT_FIELD_WEIGHTS

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TUNABLE = ("answer_threshold", "answer_margin", "no_match_threshold", "dense_weight")


@dataclass(frozen=True)
class RetrievalConfig:
    embedding_model: str | None = None
    allow_download: bool = False
    query_prefix: str = ""
    passage_prefix: str = ""
    approximate_index_above: int = 20_000
    top_k: int = 5
    candidates_k: int = 4
    answer_threshold: float = 0.6
    answer_margin: float = 0.1
    no_match_threshold: float = 0.25
    dense_weight: float = 0.5
    synonyms_file: str | None = None
    refresh_interval_seconds: float = 0.5
    bm25_k1: float = 1.2
    bm25_b: float = 0.75
    field_weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_FIELD_WEIGHTS))
    feature_weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_KIND_WEIGHTS))
    dense_floor: float = 0.3
    dense_candidates: int = 100
    context_weight: float = 0.4
    answer_ngrams: bool = True
    rerank_depth: int = 50
    coverage_exponent: float = 0.25

    @classmethod
    def from_settings(cls, settings: Any = None) -> RetrievalConfig:
        if settings is None:
            from qa_data.settings import get_settings

            settings = get_settings()
        section = getattr(settings, "retrieval", settings)
        values: dict[str, Any] = {}
        for f in fields(cls):
            if hasattr(section, f.name):
                value = getattr(section, f.name)
                if isinstance(value, dict):
                    base = f.default_factory() if callable(f.default_factory) else {}
                    value = {**base, **value}
                values[f.name] = value
        return cls(**values)

    def with_overrides(self, overrides: dict[str, Any]) -> RetrievalConfig:
        clean = {}
        for key in TUNABLE:
            if key in overrides:
                try:
                    clean[key] = float(overrides[key])
                except (TypeError, ValueError):
                    continue
        return replace(self, **clean) if clean else self


def resolve_model_path(name: str) -> Path | None:
    """A local model directory for ``name``: as given, relative to the project root, or under
    ``models/`` (``make model`` puts ``org/name`` at ``models/org--name`` or ``models/name``)."""
    candidates = [Path(name), PROJECT_ROOT / name, PROJECT_ROOT / "models" / name]
    candidates.append(PROJECT_ROOT / "models" / name.replace("/", "--"))
    candidates.append(PROJECT_ROOT / "models" / name.split("/")[-1])
    for path in candidates:
        try:
            if path.is_dir() and any(path.iterdir()):
                return path.resolve()
        except OSError:
            continue
    return None
