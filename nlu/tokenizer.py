"""A Rasa 3.6 message tokenizer for Japanese, built on Sudachi.

Referenced from ``config.yml`` as ``nlu.tokenizer.SudachiTokenizer`` (Rasa must run with the
repository root on ``PYTHONPATH``). Each token's text is Sudachi's *normalized form*
(ｱｲﾛﾝ → アイロン, 為る for し, ＡＢＣ → ABC), while ``start``/``end`` are character offsets into
the original message, so entity spans and Rasa's debugging output still point at what the resident
typed. Whitespace is dropped; punctuation and emoji are kept as tokens.

This module runs inside the Rasa process (Python 3.10, Rasa's pinned packages): it imports only
the standard library, ``sudachipy`` and ``rasa``.
"""

from __future__ import annotations

import threading
from typing import Any

from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.tokenizers.tokenizer import Token, Tokenizer
from rasa.shared.nlu.training_data.message import Message

# Sudachi refuses inputs above 49,149 UTF-8 bytes; we cut long texts well below that, at a
# sentence end when there is one.
_MAX_CHUNK_CHARS = 4000
_SENTENCE_ENDS = "。！？!?\n"
_SKIPPED_POS = {"空白"}


def _chunks(text: str) -> list[tuple]:
    """Split ``text`` into ``(offset, piece)`` pairs small enough for Sudachi."""
    pieces = []
    start = 0
    while start < len(text):
        end = min(len(text), start + _MAX_CHUNK_CHARS)
        if end < len(text):
            cut = max(text.rfind(ch, start, end) for ch in _SENTENCE_ENDS)
            if cut > start:
                end = cut + 1
        pieces.append((start, text[start:end]))
        start = end
    return pieces


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class SudachiTokenizer(Tokenizer):
    """Sudachi morphological analysis → normalized-form tokens with original offsets."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            "intent_tokenization_flag": False,
            "intent_split_symbol": "_",
            "token_pattern": None,
            "prefix_separator_symbol": None,
            # Sudachi split mode: "A" (short units), "B" (middle) or "C" (named entities whole).
            "split_mode": "C",
            # Dictionary edition installed next to sudachipy: "core" (default), "small", "full".
            "dictionary": "core",
        }

    @staticmethod
    def supported_languages() -> list[str] | None:
        return ["ja"]

    @staticmethod
    def required_packages() -> list[str]:
        return ["sudachipy"]

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self._split_mode = str(config.get("split_mode") or "C").upper()
        self._dictionary_name = config.get("dictionary") or "core"
        self._local = threading.local()

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SudachiTokenizer:
        return cls(config)

    def _sudachi(self) -> Any:
        # Sudachi tokenizers are not safe to share between threads: one per thread.
        tokenizer = getattr(self._local, "tokenizer", None)
        if tokenizer is None:
            from sudachipy import Dictionary, SplitMode

            mode = {"A": SplitMode.A, "B": SplitMode.B}.get(self._split_mode, SplitMode.C)
            dictionary = Dictionary(dict=self._dictionary_name)
            tokenizer = dictionary.tokenizer(mode=mode)
            self._local.tokenizer = tokenizer
        return tokenizer

    def tokenize_text(self, text: str) -> list[Token]:
        """Tokens for ``text`` (also used by tests without a Message)."""
        if not text:
            return []
        sudachi = self._sudachi()
        tokens: list[Token] = []
        for offset, piece in _chunks(text):
            for morpheme in sudachi.tokenize(piece):
                if morpheme.part_of_speech()[0] in _SKIPPED_POS:
                    continue
                start = offset + morpheme.begin()
                end = offset + morpheme.end()
                if end <= start:
                    continue
                normalized = morpheme.normalized_form() or morpheme.surface()
                tokens.append(
                    Token(
                        normalized,
                        start,
                        end=end,
                        data={"surface": text[start:end], "pos": morpheme.part_of_speech()[0]},
                        lemma=morpheme.dictionary_form(),
                    )
                )
        if not tokens and text.strip():
            # Nothing Sudachi recognised as a word: keep the whole text as one token, as
            # Rasa's WhitespaceTokenizer does, so downstream featurizers always get input.
            stripped = text.strip()
            start = text.index(stripped)
            tokens.append(Token(stripped, start, end=start + len(stripped)))
        return tokens

    def tokenize(self, message: Message, attribute: str) -> list[Token]:
        text = message.get(attribute) or ""
        return self._apply_token_pattern(self.tokenize_text(text))
