"""``cxm``: set up a workspace, serve it, load data, look up customers."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console

from cxm.cli import (
    audit,
    automation,
    cases,
    consistency,
    data,
    identity,
    insights,
    journey,
    journeys,
    kb,
    metrics,
    privacy,
    resolve,
    segments,
    serving,
    surveys,
    text,
    users,
)
from cxm.cli.context import close_workspaces
from cxm.errors import CxmError

app = typer.Typer(
    name="cxm",
    help="cxm: one memory of each customer across all channels.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True)


@app.callback()
def _global(
    ctx: typer.Context,
    workspace: Annotated[
        Path | None,
        typer.Option(
            "--workspace", "-w", help="Workspace directory (env CXM_WORKSPACE).", show_default=False
        ),
    ] = None,
) -> None:
    if workspace is not None:
        os.environ["CXM_WORKSPACE"] = str(workspace)
    ctx.call_on_close(close_workspaces)


serving.register(app)
data.register(app)
identity.register(app)
resolve.register(app)
journey.register(app)
journeys.register(app)
metrics.register(app)
surveys.register(app)
segments.register(app)
text.register(app)
audit.register(app)
privacy.register(app)
kb.register(app)
consistency.register(app)
users.register(app)
cases.register(app)
automation.register(app)
insights.register(app)


def main() -> None:
    try:
        app()
    except ValidationError as exc:  # a CXM_* setting with an unusable value
        for error in exc.errors():
            err.print(f"[red]error[/red] (invalid_setting): {error['msg']}")
        sys.exit(2)
    except CxmError as exc:
        err.print(f"[red]error[/red] ({exc.code}): {exc.message}")
        for detail in exc.errors[:20]:
            err.print(f"  at {'.'.join(map(str, detail.loc)) or '-'}: {detail.message}")
        sys.exit(2)
