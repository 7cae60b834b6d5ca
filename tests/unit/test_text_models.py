"""The pieces of text analytics that need no store: heads, training input, topics, keyphrases,
language, text checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from cxm.errors import InvalidInput
from cxm.text.analysis import check_text
from cxm.text.heads import LinearHead, fit_head, fit_temperature, softmax
from cxm.text.keyphrases import keyphrases
from cxm.text.language import detect_languages
from cxm.text.topics import assign, cluster, fit_space, match_to_existing
from cxm.text.training import check_training_labels, read_labelled_csv


def blobs(seed: int = 1, n: int = 300) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(3, 16)) * 3
    y = rng.integers(0, 3, n)
    x = centres[y] + rng.normal(size=(n, 16))
    return x.astype(np.float32), np.array(["negative", "neutral", "positive"])[y]


def test_a_head_learns_saves_and_loads(tmp_path: Path) -> None:
    x, y = blobs()
    head = fit_head(x, y)
    assert head.classes == ("negative", "neutral", "positive")
    assert (np.array(head.classes)[head.predict_proba(x).argmax(axis=1)] == y).mean() > 0.95
    head.metrics["version"] = "t-1"
    head.save(tmp_path / "h.npz")
    again = LinearHead.load(tmp_path / "h.npz")
    assert again.metrics["version"] == "t-1" and again.temperature == head.temperature
    np.testing.assert_allclose(again.predict_proba(x), head.predict_proba(x), rtol=1e-5)
    with pytest.raises(InvalidInput, match="expects 16-d"):
        head.predict_proba(np.zeros((1, 8), dtype=np.float32))


def test_a_binary_head_has_two_probabilities() -> None:
    x, y = blobs()
    mask = y != "neutral"
    head = fit_head(x[mask], y[mask])
    p = head.predict_proba(x[mask])
    assert p.shape == (mask.sum(), 2)
    np.testing.assert_allclose(p.sum(axis=1), 1, rtol=1e-5)


def test_the_temperature_undoes_overconfidence() -> None:
    rng = np.random.default_rng(3)
    true_logits = rng.normal(size=(4000, 3))
    truth = np.array([rng.choice(3, p=p) for p in softmax(true_logits)])
    # A model three times too sure of itself: the fitted temperature is about 3.
    assert fit_temperature(true_logits * 3, truth) == pytest.approx(3, rel=0.15)


def test_fewer_than_two_labels_are_refused() -> None:
    with pytest.raises(InvalidInput, match="at least two labels"):
        check_training_labels(["positive"] * 50)
    with pytest.raises(InvalidInput, match="at least 20"):
        check_training_labels(["positive"] * 50 + ["negative"] * 3)


def test_a_labelled_csv_keeps_the_good_rows_and_says_where_the_bad_ones_are() -> None:
    data = "text,label\nŚwietnie,pos\n,negative\nOkropne,-1\nHmm,sarcastic\nНормально,0\n"
    read = read_labelled_csv(data.encode(), filename="labels.csv")
    assert read.texts == ["Świetnie", "Okropne", "Нормально"]
    assert read.labels == ["positive", "negative", "neutral"]
    assert [(d.loc[1], d.message.split(";")[0]) for d in read.rejected] == [
        (3, "empty text"),
        (5, "unknown label 'sarcastic'"),
    ]
    with pytest.raises(InvalidInput, match="no column label"):
        read_labelled_csv(b"text,mood\na,b\n", filename="x.csv")
    with pytest.raises(InvalidInput, match="not UTF-8"):
        read_labelled_csv(b"\xff\xfe\x00bad", filename="x.csv")


def test_a_source_column_says_where_each_kept_text_came_from() -> None:
    data = "text,label,channel\nŚwietnie,pos,chat\n,negative,chat\nOkropne,-1,\nOk,0,email\n"
    read = read_labelled_csv(data.encode(), source_column="channel", filename="labels.csv")
    assert read.texts == ["Świetnie", "Okropne", "Ok"]
    assert read.sources == ["chat", "-", "email"]  # an empty source is a source of its own
    assert read_labelled_csv(data.encode(), filename="labels.csv").sources is None
    with pytest.raises(InvalidInput, match="no column source"):
        read_labelled_csv(data.encode(), source_column="source", filename="labels.csv")


def test_language_centring_makes_topics_form_by_theme() -> None:
    rng = np.random.default_rng(7)
    themes = rng.normal(size=(4, 64))
    languages = {lang: rng.normal(size=64) * 3 for lang in ("pl", "ru", "en")}
    vectors, theme_of, lang_of = [], [], []
    for t in range(4):
        for lang, offset in languages.items():
            for _ in range(25):
                vectors.append(themes[t] + offset + rng.normal(size=64) * 0.6)
                theme_of.append(t)
                lang_of.append(lang)
    x = np.array(vectors, dtype=np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    raw = cluster(x, k=4)
    space = fit_space(x, lang_of)
    centred = cluster(space.centre(x, lang_of), k=4)
    assert adjusted_rand_score(theme_of, centred.labels) > 0.9
    assert adjusted_rand_score(theme_of, raw.labels) < 0.5
    # New texts go to the nearest topic; far ones to none.
    ids, sims = assign(space.centre(x[:3], lang_of[:3]), [10, 11, 12, 13], centred.centroids)
    assert all(i is not None for i in ids) and all(s is not None and s > 0.25 for s in sims)
    basis, _ = np.linalg.qr(centred.centroids.T)  # a direction unlike every topic
    far = rng.normal(size=64)
    far -= basis @ (basis.T @ far)
    ids, _ = assign((far / np.linalg.norm(far))[None, :], [10, 11, 12, 13], centred.centroids)
    assert ids == [None]


def test_rediscovered_clusters_keep_the_ids_of_their_old_selves() -> None:
    old = np.eye(3, dtype=np.float32)
    new = np.array([[0, 0.99, 0.1], [0.1, 0, 0.99], [0.5, 0.5, 0.5]], dtype=np.float32)
    new /= np.linalg.norm(new, axis=1, keepdims=True)
    assert match_to_existing(new, [7, 8, 9], old) == {0: 8, 1: 9}


def test_too_few_texts_for_topics_is_a_clear_error() -> None:
    with pytest.raises(InvalidInput, match="at least 10"):
        cluster(np.eye(5, dtype=np.float32))


def test_keyphrases_name_each_group_across_inflections() -> None:
    groups = {
        1: ["Błędna faktura za marzec", "Faktury są za wysokie", "Korekta faktury, proszę",
            "Znowu zła faktura"],
        2: ["Internet nie działa", "Brak internetu od rana", "Internet się rozłącza",
            "Awaria internetu"],
    }  # fmt: skip
    phrases = keyphrases(groups, "pl")
    assert phrases[1][0].startswith("faktur")
    assert phrases[2][0].startswith("internet")
    assert keyphrases({1: ["jedno zdanie"]}, "pl") == {1: []}


def test_languages_are_told_apart() -> None:
    found = detect_languages(
        ["Dziękuję za szybką pomoc, wszystko działa.", "Спасибо, всё работает отлично.",
         "Thanks, everything works perfectly now.", "👍👍 123", "Danke, alles funktioniert."]
    )  # fmt: skip
    assert [f.code for f in found] == ["pl", "ru", "en", "und", "de"]
    assert found[0].confidence > 0.5 and found[3].confidence == 0


@pytest.mark.parametrize(
    ("text", "flag"),
    [("", "empty"), ("   \n", "empty"), ("ok\x00\x00", "binary"), ("\x01\x02\x03\x04 x", "binary"),
     ("Zwykły tekst.", None), ("Tab\tand\nnewline", None)],
)  # fmt: skip
def test_check_text(text: str, flag: str | None) -> None:
    assert check_text(text) == flag
