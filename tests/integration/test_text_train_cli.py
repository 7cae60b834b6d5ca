"""``cxm text train`` at the command line: a labelled CSV (with the channel each text came
from) trains the workspace's own sentiment model, which then replaces the shipped one there;
bad rows are listed with their line and the good ones kept; a missing column is a clear error
that leaves the workspace's model as it was."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from cxm.errors import InvalidInput
from cxm.text.sentiment import FILES, sentiment_model
from cxm.workspace import Workspace
from text_corpus import THEMES


def labelled_csv(path: Path) -> Path:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["text", "mood", "channel"])
    for theme, by_lang in THEMES.items():
        for items in by_lang.values():
            for i, text in enumerate(items):
                for variant in (text, text.lower(), text + " !", text.upper()):
                    mood = "pos" if theme == "praise" else "neg"
                    writer.writerow([variant, mood, "chat" if i % 2 else "email"])
    writer.writerow(["", "neg", "chat"])  # line 182: no text
    writer.writerow(["Meh.", "sarcastic", "chat"])  # line 183: unknown label
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path


def test_text_train_with_a_source_column_replaces_the_shipped_model_here(
    cxm: Any, workspace: Workspace, tmp_path: Path
) -> None:
    data = labelled_csv(tmp_path / "labels.csv")
    before_training = cxm("text", "model")
    assert before_training.exit_code == 0, before_training.output
    assert "shipped with cxm" in before_training.output
    assert "PolEmo 2.0-IN dev (accuracy)" in before_training.output
    result = cxm("text", "train", str(data), "--label-column", "mood",
                 "--source-column", "channel")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "skipped labels.csv:182:text: empty text" in result.output
    assert "skipped labels.csv:183:mood: unknown label 'sarcastic'" in result.output
    assert "2 row(s) skipped; 180 kept" in result.output
    assert "trained on 180 texts" in result.output
    models = workspace.path / "models" / "text"
    assert {p.name for p in models.iterdir()} >= set(FILES.values())
    model = sentiment_model(models_dir=models)
    assert model.full.metrics["trained_on"] == 180
    assert model.full.metrics["held_out"]["held_out"] > 0
    out = model.predict(["Dziękuję, świetna obsługa!", "Третий день нет интернета."], None,
                        ["pl", "ru"])  # fmt: skip
    assert [r.label for r in out] == ["positive", "negative"]
    card = cxm("text", "model")
    assert "this workspace's own (cxm text train)" in card.output
    assert "trained on: 180 texts" in card.output
    assert "held out (" in card.output and "full" in card.output
    assert workspace.text.model_card()["measured"]["held_out"] > 0

    before = {p.name: p.stat().st_mtime_ns for p in models.iterdir()}
    refused = cxm("text", "train", str(data), "--source-column", "branch")
    assert isinstance(refused.exception, InvalidInput)  # `cxm` prints it as an error line
    assert "labels.csv has no column branch, label" in str(refused.exception)
    assert {p.name: p.stat().st_mtime_ns for p in models.iterdir()} == before


def test_text_train_tune_without_pytorch_is_a_clear_error_that_changes_nothing(
    cxm: Any, workspace: Workspace, tmp_path: Path, monkeypatch: Any
) -> None:
    import cxm.text.tuning as tuning

    monkeypatch.setattr(tuning, "torch_available", lambda: False)
    data = labelled_csv(tmp_path / "labels.csv")
    refused = cxm("text", "train", str(data), "--label-column", "mood", "--tune")
    assert isinstance(refused.exception, InvalidInput)
    assert "fine-tuning e5 needs PyTorch" in str(refused.exception)
    assert not (workspace.path / "models" / "text").exists()


def test_text_train_tune_fine_tunes_e5_for_this_workspace(
    cxm: Any, workspace: Workspace, tmp_path: Path
) -> None:
    import pytest

    pytest.importorskip("torch", reason="fine-tuning needs PyTorch (optional: cxm[tune])")
    data = labelled_csv(tmp_path / "labels.csv")
    result = cxm("text", "train", str(data), "--label-column", "mood", "--tune")
    assert result.exit_code == 0, result.output
    assert "without the tuned e5" in result.output
    models = workspace.path / "models" / "text"
    assert (models / "sentiment-tuned.npz").exists()
    model = sentiment_model(models_dir=models)
    assert model.tuned is not None and model.version.endswith("+tuned")
    assert model.tuned.metrics["trained_on"] == 180
    out = model.predict(["Dziękuję, świetna obsługa!", "Третий день нет интернета."], None,
                        ["pl", "ru"])  # fmt: skip
    assert [r.label for r in out] == ["positive", "negative"]
    card = cxm("text", "model")
    assert "fine-tuned e5: rank 8, trained on 180 texts" in card.output
    assert "full without the tuned e5" in card.output
