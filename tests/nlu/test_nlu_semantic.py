"""The corpus-derived latent ranker (nlu/retrieval/latent.py): words that co-occur in the FAQ's
answers bring a question to an entry it shares no word with, and the retriever keeps it in
step with store edits."""

from __future__ import annotations

from collections import Counter

import numpy as np
from nlu_helpers import add_entries, wait_for

from nlu.retrieval.latent import LatentBasis, latent_features, latent_scores


def _doc(question: list[str], answer: list[str]) -> Counter[str]:
    return latent_features([[f"w:{w}" for w in question]], [[f"w:{w}" for w in answer]])


# 公的 and 証明 never occur in the 住民票 entry; they occur with 住所 in the other entries'
# answers, and 住所 is in the 住民票 entry's answer.
DOCS = [
    _doc(["住民票", "写し"], ["住民票", "住所", "記載", "窓口", "交付"]),
    _doc(["印鑑", "登録"], ["印鑑", "実印", "登録", "窓口"]),
    _doc(["粗大", "ごみ"], ["家具", "予約", "収集", "処理券"]),
    _doc(["児童", "手当"], ["児童", "手当", "申請", "口座"]),
    _doc(["転入", "届"], ["住所", "公的", "証明", "届", "窓口"]),
    _doc(["証明書", "郵送"], ["住所", "公的", "証明", "郵送", "返信"]),
    _doc(["犬", "登録"], ["犬", "狂犬病", "注射", "登録"]),
    _doc(["燃える", "ごみ"], ["ごみ", "収集", "袋"]),
]


def test_co_occurrence_in_answers_reaches_an_entry_with_no_shared_word() -> None:
    basis = LatentBasis.fit(DOCS, rank=4)
    assert basis is not None
    vectors = basis.project(DOCS)
    scores = latent_scores(basis, vectors, ["w:公的", "w:証明"], floor=0.0)
    assert not {"w:公的", "w:証明"} & set(DOCS[0])
    # The 住民票 entry is reached through 住所; the unrelated entries are not.
    assert scores[0] > 0.5
    assert max(scores[2], scores[3], scores[6], scores[7]) < 0.1
    # At full rank the basis only restates the texts: no shared word, no score.
    full = LatentBasis.fit(DOCS, rank=len(DOCS))
    assert latent_scores(full, full.project(DOCS), ["w:公的", "w:証明"], floor=0.0)[0] < 0.05


def test_unknown_words_weaken_the_latent_score() -> None:
    basis = LatentBasis.fit(DOCS, rank=4)
    vectors = basis.project(DOCS)
    known = latent_scores(basis, vectors, ["w:ごみ"], floor=0.0)
    diluted = latent_scores(basis, vectors, ["w:ごみ", "w:ふにゃもげ", "w:装置"], floor=0.0)
    assert known.max() > 0.5
    assert diluted.max() < known.max() / 2
    assert not latent_scores(basis, vectors, ["w:宇宙", "c:宇宙"], floor=0.0).any()


def test_the_same_faq_gives_the_same_basis() -> None:
    a, b = LatentBasis.fit(DOCS, rank=4), LatentBasis.fit(DOCS, rank=4)
    assert np.allclose(a.project(DOCS), b.project(DOCS))


def test_latent_scores_only_reorder_lexical_matches(fixture_store, make_retriever) -> None:
    lexical = make_retriever(fixture_store, latent_weight=0.0)
    fused = make_retriever(fixture_store, latent_weight=0.5)
    for text in ("住んでいる場所を公的に示す紙", "宇宙旅行の補助金", "引っ越しの届け"):
        _, lex = lexical.scores(text)
        snap, both = fused.scores(text)
        assert snap.latent is not None
        assert np.all(both[lex <= 0] <= 0), text
    assert fused.search("宇宙旅行の補助金").decision == "no_match"
    # Weight 0 turns the ranker off entirely.
    assert lexical.scores("住民票")[0].latent is None


def test_edits_are_folded_into_the_basis(fixture_store, make_retriever) -> None:
    retriever = make_retriever(fixture_store, latent_refit_fraction=0.5)
    snap, _ = retriever.scores("住民票")
    basis = snap.latent[0]
    add_entries(fixture_store, [("NEW-1", "空き家バンクに登録したい", [], [], "住まい",
                                 "空き家バンクは住宅課が運営しています。")])  # fmt: skip

    def folded() -> bool:
        s, _ = retriever.scores("空き家バンク")
        return len(s.records) == len(snap.records) + 1

    assert wait_for(folded)
    new, scores = retriever.scores("空き家バンク")
    basis_after, vectors = new.latent
    assert basis_after is basis  # one new entry: folded in, not re-fitted
    assert len(vectors) == len(new.records)
    assert new.records[int(np.argmax(scores))].external_id == "NEW-1"

    refit = make_retriever(fixture_store, latent_refit_fraction=0.0)
    first = refit.scores("住民票")[0].latent[0]
    add_entries(fixture_store, [("NEW-2", "空き家の解体補助", [], [], "住まい",
                                 "解体費用の一部を補助します。")])  # fmt: skip
    assert wait_for(lambda: refit.scores("空き家")[0].latent[0] is not first)
