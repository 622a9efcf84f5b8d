"""Combining the lexical ranker with the cosine rankers (latent, dense).

Lexical scores are already query-normalised (about 0-1). Cosine similarities are not: unrelated
texts still score 0.1-0.4 depending on the model. They are mapped to 0-1 with
``(cos - floor) / (1 - floor)`` (floor from config), then mixed linearly:
``(1 - w) * lexical + w * cosine``. The corpus-derived latent ranker (``latent.py``) is mixed in
first, with a small weight; a dense model, when configured, is mixed into that result. Entries
outside the dense top-N count as dense 0.
"""

from __future__ import annotations

import numpy as np


def unit_rows(m: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), so that dot products are cosines."""
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    return np.divide(m, norms, out=np.zeros_like(m), where=norms > 1e-9)


def calibrate_cosine(cosine: np.ndarray, floor: float) -> np.ndarray:
    span = max(1e-6, 1.0 - floor)
    return np.clip((cosine - floor) / span, 0.0, 1.0)


def fuse(lexical: np.ndarray, other: np.ndarray | None, weight: float) -> np.ndarray:
    if other is None or weight <= 0:
        return lexical
    w = min(1.0, max(0.0, weight))
    return (1.0 - w) * lexical + w * other
