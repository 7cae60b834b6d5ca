"""The workspace a command works on, closed when the command ends."""

from __future__ import annotations

import getpass
import os
from datetime import date
from typing import Any

import typer

from cxm.config import Settings
from cxm.errors import InvalidInput
from cxm.workspace import Workspace

_opened: list[Workspace] = []


def open_workspace(settings: Settings | None = None) -> Workspace:
    """Open the workspace; the root command closes it when the invocation ends."""
    ws = Workspace.open(settings=settings)
    _opened.append(ws)
    return ws


def cli_actor() -> str:
    """How a person at the command line is named in the audit log."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return f"cli:uid-{os.getuid()}"


def close_workspaces() -> None:
    while _opened:
        _opened.pop().close()


def parse_day(text: str | None, name: str) -> date | None:
    """A ``--start``/``--end`` option's day, or a clear error naming the option."""
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{name}: {text!r} is not a day; write YYYY-MM-DD") from None


def print_rejected(console: Any, rejected: list[Any]) -> None:
    """Each refused item of a loaded file (``cxm.documents``), with where it is and why; exits
    with status 1 when there was any (the good items were saved)."""
    from rich.markup import escape

    for problem in rejected:
        where = ".".join(str(p) for p in problem.loc)
        console.print(f"[red]rejected[/red] {escape(where)}: {escape(problem.message)}")
    if rejected:
        raise typer.Exit(1)
