"""The stacked model on a tiny labelled set: it trains, saves, loads, decides every text by the
full stage by default (and, as a cascade, by the fast stage when sure and by the full stage
otherwise), and scores are consistent with labels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cxm.text.encoders import encode_batched, encoder
from cxm.text.sentiment import FILES, load_model
from cxm.text.training import evaluate_sentiment, train_sentiment
from text_corpus import THEMES


def labelled() -> tuple[list[str], list[str], list[str]]:
    texts, labels, langs = [], [], []
    for theme, by_lang in THEMES.items():
        for lang, items in by_lang.items():
            for text in items:
                for variant in (text, text.lower(), text + " !", text.upper()):
                    texts.append(variant)
                    labels.append("positive" if theme == "praise" else "negative")
                    langs.append(lang)
    return texts, labels, langs


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    texts, labels, langs = labelled()
    model = train_sentiment(texts, labels, languages=langs, version="test-1")
    directory = tmp_path_factory.mktemp("model")
    paths = model.save(directory)
    assert sorted(p.name for p in paths) == sorted(FILES.values())
    return directory


def test_a_trained_model_loads_and_reads_sentiment(model_dir: Path) -> None:
    model = load_model(model_dir)
    assert model.version == "full:test-1"
    out = model.predict(["Dziękuję, świetna obsługa!", "Третий день нет интернета."])
    assert [r.label for r in out] == ["positive", "negative"]
    assert out[0].score > 0 > out[1].score
    for r in out:
        assert -1 <= r.score <= 1 and 0.5 <= r.confidence <= 1 and r.model == "full"
    assert load_model(model_dir, choice="cascade").version == "cascade@0.6:test-1"


def test_the_threshold_decides_who_needs_e5(model_dir: Path) -> None:
    texts = ["Great service, thank you", "Internet is down again", "The invoice is wrong"]
    everyone = load_model(model_dir, choice="cascade", threshold=1.0).predict(texts)
    assert {r.model for r in everyone} == {"full"}
    nobody = load_model(model_dir, choice="use").predict(texts)
    assert {r.model for r in nobody} == {"fast"}
    full = load_model(model_dir, choice="e5").predict(texts)
    assert [r.label for r in full] == [r.label for r in everyone]
    np.testing.assert_allclose([r.score for r in full], [r.score for r in everyone], atol=1e-4)


def test_held_out_measurement_reports_every_stage() -> None:
    texts, labels, langs = labelled()
    metrics = evaluate_sentiment(texts, labels, languages=langs, holdout=0.3)
    assert metrics["held_out"] >= 30
    assert metrics["full_accuracy"] >= 0.8 and metrics["full_macro_f1"] >= 0.8
    assert metrics["cascade_accuracy"] >= 0.8 and 0 <= metrics["routed_to_e5"] <= 1


def test_folds_hold_out_whole_sources_where_a_language_has_several() -> None:
    from cxm.text.training import _folds

    langs = np.array(["en"] * 6 + ["pl"] * 6)
    y = np.array(["positive", "negative"] * 6)
    sources = np.array(["tweets"] * 2 + ["films"] * 2 + ["news"] * 2 + ["medicine"] * 6)
    fold = _folds(langs, y, sources, folds=3, seed=1)
    for name in ("tweets", "films", "news"):  # each English source is one fold of its own
        assert len(set(fold[sources == name].tolist())) == 1
    assert len(set(fold[:6].tolist())) == 3
    # Polish has one source: a stratified random split, every fold gets each label
    for label in ("positive", "negative"):
        assert sorted(fold[(langs == "pl") & (y == label)].tolist()) == [0, 1, 2]


def test_each_language_with_enough_texts_gets_its_own_combiners(tmp_path: Path) -> None:
    texts, labels, langs = labelled()
    model = train_sentiment(texts, labels, languages=langs, min_language_texts=10, version="t")
    assert set(model.by_language) == set(langs)
    names = {p.name for p in model.save(tmp_path)}
    assert {"sentiment-fast.pl.npz", "sentiment-full.ru.npz"} <= names
    loaded = load_model(tmp_path)
    assert set(loaded.by_language) == set(langs)
    sample = ["Dziękuję, świetna obsługa!", "Internet is down again"]
    vectors = encode_batched(encoder("use"), sample)
    own = loaded.fast_probabilities(sample, vectors, ["pl", "en"])
    shared = loaded.fast_probabilities(sample, vectors, ["de", "de"])  # no German combiners
    assert not np.allclose(own, shared)
    np.testing.assert_allclose(shared, loaded.fast_probabilities(sample, vectors), atol=1e-6)
    np.testing.assert_allclose(own.sum(axis=1), 1, atol=1e-5)
    by_text = [
        loaded.predict([t], languages=[g])[0] for t, g in zip(sample, ("pl", "en"), strict=True)
    ]
    assert [r.label for r in by_text] == ["positive", "negative"]
    # a model retrained without languages leaves no stale per-language files behind
    train_sentiment(texts, labels, version="t2").save(tmp_path)
    assert not list(tmp_path.glob("sentiment-f*.*.npz"))
    assert load_model(tmp_path).by_language == {}


def test_a_workspace_model_trained_on_older_e5_features_gives_way_to_the_shipped_one(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from cxm.text.sentiment import SHIPPED, sentiment_model

    texts, labels, langs = labelled()
    use = encode_batched(encoder("use"), texts)
    old_e5 = np.random.default_rng(3).normal(size=(len(texts), 384)).astype(np.float32)
    old = train_sentiment(texts, labels, languages=langs, use_vectors=use, e5_vectors=old_e5,
                          version="before-layers")  # fmt: skip
    old.save(tmp_path)
    with caplog.at_level("WARNING", logger="cxm.text.sentiment"):
        model = sentiment_model("e5", 0.6, tmp_path)
    assert "before-layers" not in model.version
    assert model.version == load_model(SHIPPED).version
    assert "cxm text train" in caplog.text
    assert [r.label for r in model.predict(["Dziękuję, świetna obsługa!"])] == ["positive"]
