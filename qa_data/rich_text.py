"""Answer bodies: staff write Markdown; residents see sanitised HTML.

Markdown is the stored source because staff can read and diff it in a spreadsheet cell, and a
spreadsheet round trip cannot damage it. Raw HTML inside the Markdown is not rendered: it shows as
text. The rendered HTML passes an allow-list (links, emphasis, lists, images, line breaks) so that
neither QA content nor anything pasted into it can run script in a resident's browser.
"""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt

ALLOWED_TAGS = {
    "p", "br", "strong", "em", "b", "i", "u", "s", "a", "ul", "ol", "li", "img",
    "h3", "h4", "blockquote", "code", "pre", "hr", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}}
URL_SCHEMES = {"http", "https", "mailto", "tel"}

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "breaks": True}).enable(
    "table"
)


def render_answer_html(source: str) -> str:
    """Markdown source → sanitised HTML; links open in a new tab without an opener."""
    return sanitise_html(_markdown.render(source or ""))


def sanitise_html(html: str) -> str:
    """The same allow-list for HTML that did not come from our Markdown renderer."""
    return nh3.clean(
        html or "",
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer",
        set_tag_attribute_values={"a": {"target": "_blank"}},
    )


def answer_plain_text(source: str) -> str:
    """The answer as plain text (for channels without HTML and for search indexing)."""
    tokens = _markdown.parse(source or "")
    parts: list[str] = []
    for token in tokens:
        if token.type == "inline" and token.children:
            for child in token.children:
                if child.type in ("text", "code_inline"):
                    parts.append(child.content)
                elif child.type in ("softbreak", "hardbreak"):
                    parts.append("\n")
                elif child.type == "image":
                    parts.append(child.content)
            parts.append("\n")
        elif token.type in ("code_block", "fence"):
            parts.append(token.content)
    return "".join(parts).strip()
