"""The documentation stays true: every setting and every command is documented."""

from __future__ import annotations

from pathlib import Path

from typer.main import get_command

from cxm.cli import app
from cxm.config import Settings, settings_markdown

DOCS = Path(__file__).parents[2] / "docs"


def test_every_setting_is_documented_as_it_is() -> None:
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    assert settings_markdown() in text, "regenerate the table with cxm.config.settings_markdown()"
    for name, info in Settings.model_fields.items():
        assert info.description, f"setting {name} has no help text"


def test_every_command_is_in_the_cli_reference() -> None:
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    root = get_command(app)
    names = []
    for name, command in root.commands.items():  # type: ignore[attr-defined]
        names.append(name)
        names.extend(f"{name} {sub}" for sub in getattr(command, "commands", {}))
    for name in names:
        assert f"## `cxm {name}`" in text, f"`cxm {name}` is missing from docs/cli.md"
