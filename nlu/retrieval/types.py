"""Search results: what the bot, the console and the CLI receive."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Decision = Literal["answer", "candidates", "no_match"]


@dataclass(frozen=True)
class Hit:
    """One QA entry in a result. ``id`` is the entry's external ID; ``score`` is the fused,
    query-normalised score (about 0-1: 1 means every informative part of the question matched)."""

    id: str
    question: str
    score: float
    department_id: int | None = None
    category: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SearchResult:
    """``decision``: ``answer`` (show ``hits[0]``), ``candidates`` (let the resident choose) or
    ``no_match``. ``hits`` always holds the top k entries that matched at all, whatever the
    decision."""

    query: str
    decision: Decision
    hits: list[Hit] = field(default_factory=list)

    @property
    def best(self) -> Hit | None:
        return self.hits[0] if self.hits else None

    def to_dict(self) -> dict[str, Any]:
        """The CLI JSON: ``{"query", "decision", "hits": [{"id", "question", "score"}]}``."""
        return {
            "query": self.query,
            "decision": self.decision,
            "hits": [
                {"id": h.id, "question": h.question, "score": round(h.score, 4)} for h in self.hits
            ],
        }
