"""Retrieval: ``from nlu.retrieval import Retriever, SearchResult, Hit``."""

from nlu.retrieval.retriever import Retriever
from nlu.retrieval.types import Hit, SearchResult

__all__ = ["Hit", "Retriever", "SearchResult"]
