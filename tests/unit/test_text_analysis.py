"""analyse_texts reads each distinct text of a batch once: repeats get the same reading, in
their places, and cost nothing more."""

from __future__ import annotations

import numpy as np

from cxm.text.analysis import analyse_texts
from cxm.text.sentiment import SHIPPED, load_model
from helpers import recording_model


def test_identical_texts_in_a_batch_are_read_once() -> None:
    shipped = load_model(SHIPPED)
    model = recording_model(shipped)
    thanks, outage = "Dziękuję, wszystko działa!", "No internet for three days, awful."
    batch = [thanks, outage, thanks, "", "   ", thanks, "😡😡"]
    out = analyse_texts(batch, model=model)
    assert len(out) == len(batch)
    assert model.asked == [[thanks, outage, "😡😡"]]  # blank texts never reach the model
    assert out[0] is out[2] is out[5]
    assert [a.flag for a in out] == [None, None, None, "empty", "empty", None, "no_letters"]
    assert out[3].text_hash != out[4].text_hash  # two different blank texts
    alone = analyse_texts([thanks], model=shipped)[0]
    assert out[0].sentiment == alone.sentiment and out[0].language == alone.language == "pl"
    assert out[0].sentiment is not None and out[0].sentiment.label == "positive"
    assert out[1].language == "en" and out[1].sentiment is not None
    assert out[1].sentiment.label == "negative"
    np.testing.assert_allclose(out[0].vector, alone.vector, atol=1e-6)
