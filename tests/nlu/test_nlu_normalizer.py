"""The normaliser: each character-variant class, Sudachi features, offsets and robustness."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from nlu.normalizer import (
    DICTIONARY_VERSION,
    JapaneseNormalizer,
    _normalize_with_map,
    char_ngrams,
    normalize_text,
    to_hiragana,
    to_katakana,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ｶﾀｶﾅ", "カタカナ"),  # half-width katakana
        ("ｶﾞｲﾄﾞﾌﾞｯｸ", "ガイドブック"),  # half-width voiced marks combine
        ("ＡＢＣ１２３", "abc123"),  # full-width alphanumerics, case folding
        ("Ｍｙナンバー", "myナンバー"),
        ("コ-ヒ-", "コーヒー"),  # hyphen after kana is a long-vowel mark
        ("すご〜〜い", "すごーい"),  # wave dashes after kana, runs collapsed
        ("ラーーメン", "ラーメン"),
        ("ヴァイオリン", "バイオリン"),  # ヴ row
        ("ヴィンテージ", "ビンテージ"),
        ("ヴ", "ブ"),
        ("  住民票\u3000の\n\n写し  ", "住民票 の 写し"),  # whitespace collapse
        ("住\u200b民票", "住民票"),  # zero-width characters removed
        ("a-b", "a-b"),  # hyphens elsewhere stay
        ("㈱", "(株)"),  # compatibility characters
        ("", ""),
    ],
)
def test_normalize_text_variants(raw: str, expected: str) -> None:
    assert normalize_text(raw) == expected


def test_normalize_with_map_agrees_with_normalize_text() -> None:
    samples = ["ｶﾞｲﾄﾞ ｰ", "コ-ー-ヒ", "ヴァ\u200bヴ", "ＡＢ\tＣ\u3000ｱ", "ーー", "😀ｶﾀｶﾅ", "ｶﾞ\u3099"]
    for s in samples:
        text, starts, ends = _normalize_with_map(s)
        assert text == normalize_text(s)
        assert len(starts) == len(ends) == len(text)
        assert all(0 <= a < b <= len(s) for a, b in zip(starts, ends, strict=True))


def test_kana_conversion() -> None:
    assert to_katakana("じゅうみんひょう") == "ジュウミンヒョウ"
    assert to_hiragana("ジュウミンヒョウ") == "じゅうみんひょう"
    assert char_ngrams("ごみ袋") == char_ngrams("ゴミ袋")


def test_tokenize_offsets_point_into_original(normalizer: JapaneseNormalizer) -> None:
    text = "ｶﾀｶﾅで住民票を　とりたい😀ＡＢＣ"
    tokens = normalizer.tokenize(text)
    assert tokens
    for t in tokens:
        assert text[t.start : t.end] == t.surface
    by_surface = {t.surface: t for t in tokens}
    assert by_surface["住民票"].reading == "じゅうみんひょう"
    assert by_surface["ｶﾀｶﾅ"].reading == "かたかな"


def test_tokenize_edge_inputs(normalizer: JapaneseNormalizer) -> None:
    assert normalizer.tokenize("") == []
    assert normalizer.features("") == []
    assert normalizer.features("😀😀🎉") == []
    mixed = "Wi-Fiは市役所1階で使えますか？ｍｙ ｎｕｍｂｅｒ"
    assert [t.surface for t in normalizer.tokenize(mixed)]


def test_long_input_is_chunked_with_right_offsets(normalizer: JapaneseNormalizer) -> None:
    text = ("住民票の写しがほしいです。" * 400)[:5000]
    tokens = normalizer.tokenize(text)
    assert tokens[-1].end <= len(text)
    assert all(text[t.start : t.end] == t.surface for t in tokens)
    # Above Sudachi's 49,149-byte limit (4-byte emoji): must be split, offsets still right.
    big = "住民票😀" * 13_000
    tokens = normalizer.tokenize(big)
    assert tokens[-1].end == len(big)
    assert all(big[t.start : t.end] == t.surface for t in tokens[-50:])


def test_split_modes(normalizer: JapaneseNormalizer) -> None:
    mode_a = JapaneseNormalizer(split_mode="A")
    assert [t.surface for t in mode_a.tokenize("粗大ゴミ")] == ["粗大", "ゴミ"]
    assert [t.surface for t in normalizer.tokenize("粗大ゴミ")] == ["粗大ゴミ"]
    features = normalizer.features("粗大ゴミ")
    # The compound and its parts: 粗大ゴミ also matches ゴミ.
    words = [f for f in features if ":" not in f]
    assert len(words) >= 3
    assert set(normalizer.analyze("ゴミ").words) <= set(words)


def test_stop_parts_of_speech_are_filtered(normalizer: JapaneseNormalizer) -> None:
    assert normalizer.analyze("あの、これってどうなんですかね？").words == ()
    words = normalizer.analyze("住民票がほしいのですが、できますか").words
    assert "住民票" in words
    assert not {"が", "の", "です", "出来る", "欲しい"} & set(words)


def test_request_verbs_carry_no_topic(normalizer: JapaneseNormalizer) -> None:
    """「知りたい」「教えてください」 frame the question; the topic is the rest."""
    asked = normalizer.analyze("保育園をやめるときの手続きを知りたい")
    assert {"保育園", "やめる", "手続き"} <= set(asked.words)
    assert "知る" not in asked.words
    assert [u.word for u in asked.units] == ["保育園", "やめる", "時", "手続き"]
    for frame in ("教えてください", "分かりますか", "お願いします", "と思います"):
        assert normalizer.analyze(frame).words == (), frame
        assert all(t.is_stop for t in normalizer.tokenize(frame)), frame  # same for tokens
    # The same verbs as content stay: 聞こえる is not 聞く.
    assert "聞こえる" in normalizer.analyze("放送が聞こえない").words


def test_kana_runs_of_grammar_are_no_unit(normalizer: JapaneseNormalizer) -> None:
    """A trailing 「どこでもらえる」 is grammar; 「じゅうみんひょう」, which Sudachi also reads as
    function words, is a word typed in kana."""
    assert [u.word for u in normalizer.analyze("住民票 どこでもらえる").units] == ["住民票"]
    asked = normalizer.analyze("カードをなくした。どうしたらいいですか")
    assert [u.word for u in asked.units] == ["カード", "なくす"]
    typed = normalizer.analyze("じゅうみんひょう いつまで")
    assert [u.word for u in typed.units] == ["じゅうみんひょう"]


def test_sudachi_synonym_groups(normalizer: JapaneseNormalizer) -> None:
    def groups(word: str) -> set[int]:
        return set(normalizer.analyze(word).synonym_ids)

    assert groups("引っ越し") & groups("引越し") & groups("転居")
    assert groups("保育園") & groups("保育所")
    assert any(f.startswith("syn:") for f in normalizer.features("保育所"))


def test_readings(normalizer: JapaneseNormalizer) -> None:
    assert normalizer.reading("住民票") == "じゅうみんひょう"
    assert normalizer.reading("じゅうみんひょう") == "じゅうみんひょう"
    assert normalizer.reading("ｼﾞｭｳﾐﾝﾋｮｳ") == "じゅうみんひょう"
    assert "yomi:じゅうみんひょう" in normalizer.features("住民票")


def test_hiragana_runs_are_read_whole(normalizer: JapaneseNormalizer) -> None:
    # Sudachi cuts hiragana-only runs into particles and stray words (かん/でん/ち): the run's
    # reading, n-gram segment and coverage unit are the whole run.
    a = normalizer.analyze("かんでんち すてかた")
    assert a.reading_segments == ("かんでんち", "すてかた")
    assert a.segments == ("かんでんち", "すてかた")
    assert [u.word for u in a.units] == ["かんでんち", "すてかた"]
    # A run inside ordinary text is left to Sudachi.
    b = normalizer.analyze("住民票がほしい")
    assert "住民票" in b.words and [u.word for u in b.units] == ["住民票"]


def test_units_carry_parts_stems_readings(normalizer: JapaneseNormalizer) -> None:
    units = {u.surface: u for u in normalizer.analyze("粗大ゴミを引っ越すので出したい").units}
    assert set(units["粗大ゴミ"].parts) >= {"粗大", "ゴミ"}
    assert units["粗大ゴミ"].reading == "そだいごみ"
    assert units["引っ越す"].stem == "引っ越"
    assert units["粗大ゴミ"].synonym_ids == next(
        t.synonym_ids for t in normalizer.tokenize("粗大ゴミ")
    )


def test_thread_safe_use(normalizer: JapaneseNormalizer) -> None:
    texts = ["住民票の写しがほしい", "粗大ゴミの出し方", "保育園に入りたい", "ｱｲﾛﾝを捨てる"] * 25
    expected = [normalizer.features(t) for t in texts]
    with ThreadPoolExecutor(max_workers=4) as pool:
        got = list(pool.map(normalizer.features, texts))
    assert got == expected


def test_dictionary_version() -> None:
    assert DICTIONARY_VERSION.startswith("core-")
    assert DICTIONARY_VERSION != "core-unknown"
