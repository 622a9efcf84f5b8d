"""answer / candidates / no_match from the fused, query-normalised scores.

- ``no_match``: the best score is below ``no_match_threshold`` (too little of the question
  matched anything we know);
- ``answer``: the best score reaches ``answer_threshold`` AND leads the runner-up by at least
  ``answer_margin`` (a confident, unambiguous best match);
- ``candidates`` otherwise.

Scores are normalised by what the query itself could score (see ``index.py``), so the same
thresholds mean the same on a 160-entry and on an 1,800-entry index.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from nlu.retrieval.types import Decision


@dataclass(frozen=True)
class Thresholds:
    answer_threshold: float = 0.5
    answer_margin: float = 0.1
    no_match_threshold: float = 0.2


def decide(scores: Sequence[float], thresholds: Thresholds) -> Decision:
    """``scores``: the ranked scores, best first."""
    if not scores or scores[0] < thresholds.no_match_threshold:
        return "no_match"
    top = scores[0]
    second = scores[1] if len(scores) > 1 else 0.0
    if top >= thresholds.answer_threshold and top - second >= thresholds.answer_margin:
        return "answer"
    return "candidates"
