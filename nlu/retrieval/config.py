"""Retrieval settings: the ``retrieval`` section of ``qa_data.settings`` (one model, one set of
defaults), overlaid with tuned values stored in ``AppSetting(key="retrieval")``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from qa_data.settings import PROJECT_ROOT, Retrieval

__all__ = ["PROJECT_ROOT", "TUNABLE", "RetrievalConfig", "resolve_model_path"]

TUNABLE = ("answer_threshold", "answer_margin", "no_match_threshold", "dense_weight")


class RetrievalConfig(Retrieval):
    """``qa_data.settings.Retrieval``, frozen: an index snapshot keeps the values it was built
    with while staff or ``madoguchi retune`` change them."""

    model_config = ConfigDict(frozen=True)

    @classmethod
    def from_settings(cls, settings: Any = None) -> RetrievalConfig:
        """From the settings (default: ``get_settings()``) or their ``retrieval`` section. A
        partial ``field_weights`` / ``feature_weights`` keeps the defaults of the other keys."""
        if settings is None:
            from qa_data.settings import get_settings

            settings = get_settings()
        section = getattr(settings, "retrieval", settings)
        values = section.model_dump() if isinstance(section, BaseModel) else dict(section)
        for name, info in cls.model_fields.items():
            if isinstance(values.get(name), dict) and info.default_factory is not None:
                values[name] = {**info.default_factory(), **values[name]}
        return cls.model_validate(values)

    def with_overrides(self, overrides: dict[str, Any]) -> RetrievalConfig:
        clean = {}
        for key in TUNABLE:
            if key in overrides:
                try:
                    clean[key] = float(overrides[key])
                except (TypeError, ValueError):
                    continue
        return self.model_copy(update=clean) if clean else self


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
