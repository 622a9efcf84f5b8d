"""madoguchi's settings: the ``madoguchi:`` key of ``config.yml``, overridden by ``MADOGUCHI_*``.

``config.yml`` is also Rasa's pipeline file, so madoguchi keeps its own settings under one key
that Rasa ignores. Environment variables win over the file: ``MADOGUCHI_DATABASE_URL`` for a
top-level field, ``MADOGUCHI_RETRIEVAL__EMBEDDING_MODEL`` (double underscore) for a nested one.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Limits(BaseModel):
    question_chars: int = 500
    answer_chars: int = 20_000
    import_file_bytes: int = 20 * 1024 * 1024
    attachment_bytes: int = 10 * 1024 * 1024


class Contact(BaseModel):
    """The general counter residents are sent to when no department fits."""

    name: str = "みどり市役所 総合案内"
    phone: str = "0120-000-000"
    hours: str = "平日 8時30分～17時15分（土日祝日・年末年始を除く）"
    url: str = "https://www.city.midori.example.jp/"


class Retrieval(BaseModel):
    embedding_model: str | None = None
    allow_download: bool = False
    query_prefix: str = ""
    passage_prefix: str = ""
    approximate_index_above: int = 20_000
    top_k: int = 5
    candidates_k: int = 4
    # Decision thresholds and fusion weights; `madoguchi retune` may store tuned values in the
    # database, which then take precedence over these. Chosen on the development set (see
    # nlu/README.md): scores are query-normalised, so they carry over to larger FAQs.
    answer_threshold: float = 0.6
    answer_margin: float = 0.1
    no_match_threshold: float = 0.375
    dense_weight: float = 0.5
    synonyms_file: str | None = None
    refresh_interval_seconds: float = 0.5
    # Lexical ranker (nlu/retrieval/index.py). Field weights: question (best phrasing),
    # keywords, category, answer. Feature weights by kind: w word, s SudachiDict synonym group,
    # u staff/file synonym group, c character bigram, y reading trigram, k single kanji.
    bm25_k1: float = 1.2
    bm25_b: float = 0.75
    field_weights: dict[str, float] = Field(
        default_factory=lambda: {"question": 1.0, "keywords": 0.5, "category": 0.2, "answer": 1.0}
    )
    feature_weights: dict[str, float] = Field(
        default_factory=lambda: {"w": 1.0, "s": 1.0, "u": 1.0, "c": 0.25, "y": 0.5, "k": 0.5}
    )
    answer_ngrams: bool = True
    rerank_depth: int = 50
    # Coverage (share of the question's content words an entry mentions) and the credit for a
    # word found only in the answer text.
    coverage_exponent: float = 0.5
    answer_coverage: float = 0.5
    context_weight: float = 0.4
    # Latent ranker (nlu/retrieval/latent.py, LSA over the FAQ's own texts, no model): weight
    # in the fusion (0 turns it off), cosine below latent_floor counts as 0, SVD rank, and the
    # share of entries changed since the last fit that triggers a re-fit (fewer are folded in).
    latent_weight: float = 0.05
    latent_floor: float = 0.2
    latent_rank: int = 50
    latent_refit_fraction: float = 0.1
    # Word vectors (nlu/retrieval/word_vectors.py): a spaCy vocabulary folder or installed spaCy
    # pipeline; the default is the chiVe vectors in the ja_ginza package. None or "" turns it off.
    # A FAQ word with cosine ≥ related_floor to a question word (at most related_limit per word)
    # counts as partly mentioning it, with credit (cos - floor) / (1 - floor), and adds evidence
    # to BM25 with weight related_expansion × credit. The mean word vectors of question and entry
    # are fused with word_vector_weight, cosine below word_vector_floor counting as 0.
    word_vectors: str | None = "ja_ginza"
    related_floor: float = 0.4
    related_limit: int = 20
    related_expansion: float = 0.5
    word_vector_weight: float = 0.3
    word_vector_floor: float = 0.4
    # Dense ranker: cosine below dense_floor counts as 0; dense_candidates passages are read.
    dense_floor: float = 0.3
    dense_candidates: int = 100


class Ports(BaseModel):
    rasa: int = 5005
    actions: int = 5055
    console: int = 8501
    web: int = 8080


class Bot(BaseModel):
    rasa_url: str = "http://127.0.0.1:5005"
    action_server_url: str = "http://127.0.0.1:5055"
    model_dir: str = "models"


class WidgetColors(BaseModel):
    primary: str = "#1b6b3a"
    background: str = "#ffffff"
    text: str = "#1f2328"


class WidgetLook(BaseModel):
    """Widget defaults; the console's settings page overrides them (``AppSetting("widget")``)."""

    title: str = "みどり市 AIよくある質問案内"
    character_name: str = "みどりん"
    avatar_url: str = "/widget/avatar.svg"
    colors: WidgetColors = Field(default_factory=WidgetColors)
    welcome_message: str = (
        "こんにちは。みどり市のよくある質問にお答えする「みどりん」です。"
        "ご質問を文章で入力するか、下の例からお選びください。"
    )
    suggested_questions: list[str] = Field(
        default_factory=lambda: ["粗大ごみの出し方", "住民票の写しがほしい", "児童手当の申請"]
    )
    position: str = "bottom-right"
    lang: str = "ja"


class Web(BaseModel):
    cors_origins: list[str] = Field(default_factory=list)
    max_request_bytes: int = 16 * 1024
    rate_limit_per_minute: int = 30
    rasa_timeout_seconds: float = 15.0
    # Behind a reverse proxy, take the client address from X-Forwarded-For (rate limiting).
    trust_proxy_headers: bool = False
    widget: WidgetLook = Field(default_factory=WidgetLook)


class Console(BaseModel):
    ip_allowlist: list[str] = Field(default_factory=list)
    session_timeout_minutes: int = 30
    lockout_failures: int = 5
    lockout_minutes: int = 15
    require_approval: bool = False


class Privacy(BaseModel):
    extra_patterns: list[str] = Field(default_factory=list)
    banned_words: list[str] = Field(default_factory=list)


class Logs(BaseModel):
    retention_days: int = 400


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="MADOGUCHI_", env_nested_delimiter="__", extra="ignore"
    )

    database_url: str = "sqlite:///data/madoguchi.db"
    default_department: str = "未設定"
    city_name: str = "みどり市"
    limits: Limits = Field(default_factory=Limits)
    contact: Contact = Field(default_factory=Contact)
    retrieval: Retrieval = Field(default_factory=Retrieval)
    ports: Ports = Field(default_factory=Ports)
    bot: Bot = Field(default_factory=Bot)
    web: Web = Field(default_factory=Web)
    console: Console = Field(default_factory=Console)
    privacy: Privacy = Field(default_factory=Privacy)
    logs: Logs = Field(default_factory=Logs)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The file's values arrive as init kwargs; the environment must beat them.
        return (env_settings, init_settings)

    @property
    def resolved_database_url(self) -> str:
        """The database URL, with a relative SQLite path anchored at the project root."""
        prefix = "sqlite:///"
        url = self.database_url
        if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
            return prefix + str(PROJECT_ROOT / url[len(prefix) :])
        return url


def config_path() -> Path:
    return Path(os.environ.get("MADOGUCHI_CONFIG", PROJECT_ROOT / "config.yml"))


def read_config_section(path: Path | None = None) -> dict[str, Any]:
    path = path or config_path()
    if not path.exists():
        return {}
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return document.get("madoguchi") or {}


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings. Tests that change the environment call ``cache_clear()``."""
    return Settings(**read_config_section())
