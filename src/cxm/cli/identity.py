"""``cxm review``, ``merge``, ``unmerge`` and ``identity``: decisions about who is who."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from cxm.cli.context import cli_actor, open_workspace
from cxm.identity import (
    PairSide,
    ReviewItem,
    count_pairs,
    do_decide_pair,
    do_merge_profiles,
    do_reopen_pair,
    do_unmerge,
    list_pairs,
    pairs_of,
)
from cxm.profiles import get_profile, resolve_profile_id

out = Console()
review_app = typer.Typer(
    help="The review queue: pairs of profiles that may be one person.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.add_typer(review_app, name="review")
    app.command()(merge)
    app.command()(unmerge)
    app.command()(identity)


@review_app.command("list")
def review_list(
    status: Annotated[str, typer.Option(help="review (open), merged or separate.")] = "review",
    limit: Annotated[int, typer.Option(help="Items to show.")] = 20,
) -> None:
    """List pairs waiting for a decision (or decided ones), most probable first."""
    ws = open_workspace()
    ws.catch_up()
    with ws.session() as session:
        items = list_pairs(session, status=status, limit=limit)
        total = count_pairs(session, status=status)
    table = Table("id", "profile A", "profile B", "score", "origin", "why", title=None)
    for item in items:
        table.add_row(
            str(item.id),
            _side(item.a),
            _side(item.b),
            _score(item.probability),
            item.origin,
            _why(item),
        )
    out.print(table)
    out.print(f"{len(items)} of {total} {status} pair(s)")


@review_app.command("accept")
def review_accept(
    pair_id: Annotated[int, typer.Argument(metavar="ID", help="Review item id.")],
    note: Annotated[str | None, typer.Option(help="Why, for the record.")] = None,
) -> None:
    """They are one person: merge the two profiles."""
    _decide(pair_id, "merge", note)


@review_app.command("reject")
def review_reject(
    pair_id: Annotated[int, typer.Argument(metavar="ID", help="Review item id.")],
    note: Annotated[str | None, typer.Option(help="Why, for the record.")] = None,
) -> None:
    """They are different people: keep the two profiles apart from now on."""
    _decide(pair_id, "separate", note)


@review_app.command("reopen")
def review_reopen(
    pair_id: Annotated[int, typer.Argument(metavar="ID", help="Review item id.")],
    note: Annotated[str, typer.Option(help="Why the answer is taken back (required).")],
) -> None:
    """Take back a "different people" answer: the pair goes back to the queue."""
    ws = open_workspace()
    with ws.session() as session:
        do_reopen_pair(session, actor=cli_actor(), pair_id=pair_id, note=note)
    out.print(f"review item #{pair_id}: back in the queue")


def _decide(pair_id: int, decision: str, note: str | None) -> None:
    ws = open_workspace()
    with ws.session() as session:
        result = do_decide_pair(
            session,
            actor=cli_actor(),
            pair_id=pair_id,
            decision="merge" if decision == "merge" else "separate",
            note=note,
        )
    if result["merged_into"]:
        out.print(f"review item #{pair_id}: merged into [bold]{result['merged_into']}[/bold]")
    else:
        out.print(f"review item #{pair_id}: {result['status']}")


def merge(
    a: Annotated[str, typer.Argument(metavar="A", help="A profile: id, e-mail, phone or user id.")],
    b: Annotated[str, typer.Argument(metavar="B", help="The other profile.")],
    reason: Annotated[str, typer.Option(help="Why the two are one person (required).")],
) -> None:
    """Merge two profiles into one, saying why; `cxm unmerge` undoes it."""
    ws = open_workspace()
    ws.catch_up()
    with ws.session() as session:
        first, second = resolve_profile_id(session, a), resolve_profile_id(session, b)
        done = do_merge_profiles(session, actor=cli_actor(), a=first, b=second, reason=reason)
    out.print(f"merge #{done.id}: {done.loser} merged into [bold]{done.winner}[/bold]")


def unmerge(
    merge_id: Annotated[int, typer.Argument(metavar="MERGE_ID", help="Merge id (`cxm identity`).")],
    reason: Annotated[str, typer.Option(help="Why the merge was wrong (required).")],
) -> None:
    """Undo a merge: the events of the profile are replayed with the two sides kept apart."""
    ws = open_workspace()
    with ws.session() as session:
        done = do_unmerge(
            session,
            actor=cli_actor(),
            merge_id=merge_id,
            reason=reason,
            policy=ws.settings.identity_policy,
            region=ws.settings.default_region,
        )
    out.print(
        f"merge #{done.merge_id} undone: {done.events_replayed} events replayed into "
        f"{', '.join(done.profiles)}"
    )


def identity(
    ref: Annotated[
        str, typer.Argument(metavar="REF", help="Profile id, e-mail, phone or user id.")
    ],
) -> None:
    """Why a customer is one person: identifiers, the merge chain and review pairs."""
    ws = open_workspace()
    ws.catch_up()
    with ws.session() as session:
        found = get_profile(session, ref)
        members = sorted({found.id, *(m.loser_id for m in found.merges)})
        pairs = pairs_of(session, members)
    out.rule(f"[bold]{found.display_name or found.id}[/bold]  ({found.id})")
    idents = Table("identifier", "value", "first seen in", "note", box=None)
    for ident in found.identifiers:
        notes = []
        if ident.noisy:
            notes.append("[yellow]noisy: links nobody[/yellow]")
        if ident.shared_with:
            notes.append(f"[yellow]shared[/yellow] with {', '.join(ident.shared_with)}")
        idents.add_row(ident.kind, ident.value, ident.source or "", "; ".join(notes))
    out.print(idents)
    if found.merges:
        chain = Table("merge", "when (UTC)", "rule", "who", "merged", "reason", "score", box=None)
        for m in found.merges:
            chain.add_row(
                f"#{m.id}" if m.id is not None else "",
                f"{m.at:%Y-%m-%d %H:%M}",
                m.rule,
                m.actor,
                f"{m.loser_id} → {m.winner_id}",
                m.reason,
                _score(m.score),
            )
            for line in _evidence(m.evidence):
                chain.add_row("", "", "", "", "", f"  {line}", "")
        out.print(chain)
    else:
        out.print("no merges: every identifier came to this profile directly")
    if pairs:
        table = Table("pair", "status", "profile A", "profile B", "score", "why", box=None)
        for item in pairs:
            table.add_row(
                f"#{item.id}",
                item.status,
                _side(item.a),
                _side(item.b),
                _score(item.probability),
                _why(item),
            )
        out.print(table)


def _side(side: PairSide) -> str:
    name = side.display_name or side.email or side.phone or side.id
    moved = f" (now {side.live})" if side.live != side.id else ""
    return f"{name}\n{side.id}{moved} · {side.event_count} events"


def _score(probability: float | None) -> str:
    return "" if probability is None else f"{probability:.2f}"


def _why(item: ReviewItem) -> str:
    lines = [item.reason]
    if item.note:
        lines.append(f"note: {item.note}")
    lines.extend(_evidence(item.evidence))
    return "\n".join(lines)


def _evidence(evidence: list[dict[str, Any]]) -> list[str]:
    lines = []
    for e in evidence:
        weight = e.get("weight")
        shown = f" ({weight:+.1f})" if isinstance(weight, int | float) else ""
        lines.append(
            f"{e.get('field')}: {e.get('left') or '—'} | {e.get('right') or '—'} "
            f"[{e.get('level', '')}]{shown}"
        )
    return lines
