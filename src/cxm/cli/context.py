"""The workspace a command works on, closed when the command ends."""

from __future__ import annotations

import getpass
import os

from cxm.config import Settings
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
