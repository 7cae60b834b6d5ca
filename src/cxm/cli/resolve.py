"""``cxm resolve``: probabilistic identity resolution over the live profiles."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from cxm.cli.context import cli_actor, open_workspace
from cxm.cli.progress import progress_bar

out = Console()


def register(app: typer.Typer) -> None:
    app.command()(resolve)


def resolve(
    incremental: Annotated[
        bool,
        typer.Option(
            "--incremental",
            help="Score only profiles created since the last pass, with the saved model.",
        ),
    ] = False,
) -> None:
    """Find profiles of one person that share no identifier: merge sure matches, queue the rest.

    A full pass fits the matching model without labels (EM) and saves it in the workspace;
    pairs at or above CXM_MATCH_MERGE_PROBABILITY are merged with their evidence, pairs from
    CXM_MATCH_REVIEW_PROBABILITY go to the review queue (`cxm review list`).
    """
    ws = open_workspace()
    ws.catch_up()
    with progress_bar() as bar:
        report = ws.resolve(
            full=not incremental, actor=cli_actor(), on_stage=lambda s: bar.stage(s, None)
        )
    kind = "incremental" if report.incremental else "full"
    out.print(
        f"{kind} pass over {report.profiles} profiles ({report.records} records) in "
        f"{report.seconds:.1f} s: {report.candidates} candidate pairs, {report.merged} merged, "
        f"{report.queued} queued for review, {report.already_decided} decided before, "
        f"{report.kept_apart} kept apart (another first name and birth date)"
    )
