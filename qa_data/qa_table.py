"""The QA spreadsheet's columns, and the conversions between cells and entry fields.

Both directions live here so that import and export stay exact inverses of each other.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from qa_data.models import QAStatus

# --- columns --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    key: str
    label: str  # the Japanese header written on export
    aliases: tuple[str, ...]
    width: int
    wrap: bool = False


COLUMNS = (
    Column("external_id", "ID", ("id", "qa_id", "external_id", "番号"), 12),
    Column("department", "部署", ("department", "部署名", "担当課", "担当部署", "所管課"), 16),
    Column("category", "カテゴリ", ("category", "カテゴリー", "分類"), 24),
    Column("question", "質問", ("question", "質問文", "よくある質問"), 40, wrap=True),
    Column(
        "alternate_questions",
        "別の聞き方",
        ("alternate_questions", "alternates", "言い換え", "類似質問"),
        40,
        wrap=True,
    ),
    Column("answer", "回答", ("answer", "回答文", "答え"), 60, wrap=True),
    Column("links", "関連リンク", ("links", "リンク", "url", "関連url"), 40, wrap=True),
    Column("keywords", "キーワード", ("keywords", "keyword"), 20, wrap=True),
    Column("published", "公開", ("published", "status", "公開状態", "状態"), 10),
)
# Files that split the category into two columns are read too.
EXTRA_COLUMNS = (
    Column("category_major", "大分類", ("category_major",), 16),
    Column("category_minor", "中分類", ("category_minor", "小分類"), 16),
)
REQUIRED = ("question", "answer")
LABELS = {column.key: column.label for column in COLUMNS + EXTRA_COLUMNS}
HEADER = [column.label for column in COLUMNS]

_BRACKETED = re.compile(r"[（(【\[［].*?[）)】\]］]")


def _header_key(text: str) -> str:
    """Headers match whatever their width, case, spacing or 「（必須）」-style notes."""
    text = _BRACKETED.sub("", unicodedata.normalize("NFKC", text or ""))
    return re.sub(r"[\s_\-※*＊]", "", text).casefold()


_LOOKUP: dict[str, str] = {}
for _column in COLUMNS + EXTRA_COLUMNS:
    for _name in (_column.label, _column.key, *_column.aliases):
        _LOOKUP[_header_key(_name)] = _column.key


def column_key(header: str) -> str | None:
    return _LOOKUP.get(_header_key(header)) if header and header.strip() else None


def is_qa_header(cells: list[str]) -> bool:
    keys = {column_key(cell) for cell in cells}
    return all(key in keys for key in REQUIRED)


# --- cell values ----------------------------------------------------------------------------

STATUS_LABELS = {
    QAStatus.PUBLISHED: "公開",
    QAStatus.DRAFT: "非公開",
    QAStatus.ARCHIVED: "アーカイブ",
}
_STATUS_WORDS = {
    "公開": QAStatus.PUBLISHED,
    "1": QAStatus.PUBLISHED,
    "true": QAStatus.PUBLISHED,
    "published": QAStatus.PUBLISHED,
    "非公開": QAStatus.DRAFT,
    "0": QAStatus.DRAFT,
    "false": QAStatus.DRAFT,
    "draft": QAStatus.DRAFT,
    "下書き": QAStatus.DRAFT,
    "アーカイブ": QAStatus.ARCHIVED,
    "archived": QAStatus.ARCHIVED,
}


def parse_status(text: str) -> QAStatus | None:
    """公開/非公開, 1/0, TRUE/FALSE (any case) and blank (= 公開); アーカイブ for archived."""
    value = unicodedata.normalize("NFKC", text or "").strip().casefold()
    if not value:
        return QAStatus.PUBLISHED
    return _STATUS_WORDS.get(value)


def status_label(status: Any) -> str:
    return STATUS_LABELS[QAStatus(status)]


def split_category(text: str) -> tuple[str | None, str | None]:
    """``大分類/中分類`` → (major, minor); the first ``/`` separates them."""
    major, separator, minor = text.partition("/")
    return (major.strip() or None, (minor.strip() or None) if separator else None)


def join_category(major: str | None, minor: str | None) -> str:
    if minor:
        return f"{major or ''}/{minor}"
    return major or ""


def split_keywords(text: str) -> list[str]:
    """Keywords: one per line, or separated by commas or 「、」."""
    return [item.strip() for item in re.split(r"[\n,、，]", text) if item.strip()]


_MD_LINK = re.compile(r"^\[(?P<title>[^\]]*)\]\((?P<url>[^)\s]+)\)$")


def link_url(line: str) -> str | None:
    """The URL in a 関連リンク line: ``URL``, ``タイトル URL``, ``タイトル|URL`` or
    ``[タイトル](URL)`` (the forms the bot understands); ``None`` if it is not a valid URL."""
    from urllib.parse import urlsplit

    line = line.strip()
    match = _MD_LINK.match(line)
    if match:
        candidate = match["url"]
    elif "|" in line:
        candidate = line.rpartition("|")[2].strip()
    else:
        candidate = line.split()[-1] if line.split() else ""
    if not candidate or any(character.isspace() for character in candidate):
        return None
    try:
        parts = urlsplit(candidate)
        hostname = parts.hostname or ""
    except ValueError:
        return None
    if parts.scheme in ("http", "https") and "." in hostname.strip("."):
        return candidate
    if parts.scheme in ("mailto", "tel") and parts.path:
        return candidate
    return None


def entry_cells(snapshot: dict[str, Any], external_id: str) -> list[str]:
    """One export row, in ``COLUMNS`` order."""
    return [
        external_id,
        snapshot["department"] or "",
        join_category(snapshot["category_major"], snapshot["category_minor"]),
        snapshot["question"],
        "\n".join(snapshot["alternate_questions"]),
        snapshot["answer"],
        "\n".join(snapshot["links"]),
        "\n".join(snapshot["keywords"]),
        status_label(snapshot["status"]),
    ]
