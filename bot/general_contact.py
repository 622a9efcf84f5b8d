"""The general contact (``madoguchi.contact`` in ``config.yml``) as the Rasa process reads it.

Rasa sends ``utter_technical_error`` by itself when the action server cannot be reached, so it needs
the general contact without the app's settings code (Pydantic is not in Rasa's venv). This reads
the same file with the same precedence as ``qa_data.settings``: the file named by
``MADOGUCHI_CONFIG`` (default ``config.yml`` at the repository root), overridden by the
``MADOGUCHI_CONTACT`` (JSON) and ``MADOGUCHI_CONTACT__<FIELD>`` environment variables, whose names
are case-insensitive. Fields set nowhere take the defaults of ``qa_data.settings.Contact``;
``tests/bot/test_technical_error.py`` checks that both readings agree.

Standard library and PyYAML (a dependency of rasa) only: it runs under Python 3.10.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
FIELDS = ("name", "phone", "hours", "url")
DEFAULTS = {
    "name": "みどり市役所 総合案内",
    "phone": "0120-000-000",
    "hours": "平日 8時30分～17時15分（土日祝日・年末年始を除く）",
    "url": "https://www.city.midori.example.jp/",
}
_ENV_PREFIX = "madoguchi_contact"


def general_contact(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """``{"name", "phone", "hours", "url"}`` of the general contact, as madoguchi configures it."""
    environ = os.environ if environ is None else environ
    contact = dict(DEFAULTS)
    contact.update(_from_file(_config_path(environ)))
    contact.update(_from_environment(environ))
    return {field: str(contact[field]) for field in FIELDS}


def _config_path(environ: Mapping[str, str]) -> Path:
    return Path(environ.get("MADOGUCHI_CONFIG") or REPO_ROOT / "config.yml")


def _from_file(path: Path) -> dict[str, object]:
    if not path.exists():
        return {}
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    section = (document.get("madoguchi") or {}).get("contact") or {}
    return {field: section[field] for field in FIELDS if field in section}


def _from_environment(environ: Mapping[str, str]) -> dict[str, object]:
    found: dict[str, object] = {}
    lowered = {key.lower(): value for key, value in environ.items()}
    # The whole object as JSON first; a single field's variable wins over it (as in Pydantic).
    if _ENV_PREFIX in lowered:
        whole = json.loads(lowered[_ENV_PREFIX])
        if not isinstance(whole, dict):
            raise ValueError("MADOGUCHI_CONTACT must be a JSON object")
        found.update({field: whole[field] for field in FIELDS if field in whole})
    for field in FIELDS:
        key = f"{_ENV_PREFIX}__{field}"
        if key in lowered:
            found[field] = lowered[key]
    return found
