"""The workspace a command works on, closed when the command ends."""

from __future__ import annotations

from cxm.config import Settings
from cxm.workspace import Workspace

_opened: list[Workspace] = []


def open_workspace(settings: Settings | None = None) -> Workspace:
    """Open the workspace; the root command closes it when the invocation ends."""
    ws = Workspace.open(settings=settings)
    _opened.append(ws)
    return ws


def close_workspaces() -> None:
    while _opened:
        _opened.pop().close()
