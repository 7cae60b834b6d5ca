"""``cxm insights``: what the data says that nobody asked about yet."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from cxm.cli.context import open_workspace
from cxm.errors import InvalidInput

out = Console()
insights_app = typer.Typer(help="Insights: association rules, churn risk.", no_args_is_help=True)
churn_app = typer.Typer(help="Churn risk: train on the workspace's history, score a customer.",
                        no_args_is_help=True)  # fmt: skip
insights_app.add_typer(churn_app, name="churn")


def register(app: typer.Typer) -> None:
    app.add_typer(insights_app, name="insights")


def _day(text: str | None, default: date, flag: str) -> datetime:
    try:
        chosen = date.fromisoformat(text) if text else default
    except ValueError as exc:
        raise InvalidInput(f"--{flag} takes a date YYYY-MM-DD, got {text!r}") from exc
    return datetime.combine(chosen, time(), tzinfo=UTC)


@insights_app.command("associations")
def associations(
    start: Annotated[str | None, typer.Option(help="First UTC day (default: a year ago).")] = None,
    end: Annotated[str | None, typer.Option(help="First UTC day excluded.")] = None,
    min_customers: Annotated[int, typer.Option(help="Fewest customers per item.")] = 10,
    min_both: Annotated[int, typer.Option(help="Fewest customers with both.")] = 5,
    alpha: Annotated[float, typer.Option(help="False discovery rate.")] = 0.05,
    show_all: Annotated[bool, typer.Option("--all", help="Not only significant rules.")] = False,
) -> None:
    """Problems customers report → what they buy after: support, confidence, lift, q-value."""
    from cxm.insights import association_report

    ws = open_workspace()
    ws.catch_up()
    ws.sync_lake()
    finish = _day(end, datetime.now(UTC).date() + timedelta(days=1), "end")
    begin = _day(start, (finish - timedelta(days=365)).date(), "start")
    with ws.session() as s:
        report = association_report(s, ws.query_engine(), start=begin, end=finish,
                                    min_customers=min_customers, min_both=min_both,
                                    alpha=alpha)  # fmt: skip
    table = Table(
        title=f"{report.customers} customers, {report.reporters} reported a problem, "
        f"{report.buyers} bought; {report.tested} pairs tested"
    )
    for column in ("problem (topic)", "→ bought after", "both", "confidence", "lift", "q",
                   "median days"):  # fmt: skip
        table.add_column(column)
    for r in report.rules:
        if not (r.significant or show_all):
            continue
        table.add_row(escape(f"{r.problem_id}: {r.problem}"[:60]), escape(r.product),
                      f"{r.both}/{r.with_problem}", f"{r.confidence:.0%}", f"{r.lift:.1f}",
                      f"{r.q_value:.2g}", f"{r.median_days_after:.0f}")  # fmt: skip
    out.print(table)


@churn_app.command("train")
def churn_train(
    horizon: Annotated[int, typer.Option(help="Days after a cutoff that count as churn.")] = 60,
) -> None:
    """Train the churn model on this workspace's history; judged on a later period it never
    saw; kept as a new version with its figures (nothing is kept when it cannot be trusted)."""
    from cxm.insights.churn_data import save_workspace_model, train_workspace_model

    ws = open_workspace()
    ws.catch_up()
    ws.sync_lake()
    result = train_workspace_model(ws.query_engine(), ws.journey_map(), now=datetime.now(UTC),
                                   horizon_days=horizon)  # fmt: skip
    path = save_workspace_model(result, ws.path / "models" / "churn")
    out.print(
        f"trained on {result.train_customers} customers as of {result.train_cutoff:%Y-%m-%d} "
        f"({result.train_churned} churned within {horizon} days); judged on "
        f"{result.test_customers} as of {result.test_cutoff:%Y-%m-%d} "
        f"({result.test_churned} churned): ROC-AUC {result.roc_auc:.3f}, "
        f"PR-AUC {result.pr_auc:.3f} (base rate {result.base_rate:.3f}), "
        f"Brier {result.brier:.4f}"
    )
    out.print(f"kept as {path}")
    if result.roc_auc < 0.65:
        out.print(
            f"[yellow]warning: ROC-AUC {result.roc_auc:.2f} on the later period is little better "
            "than chance (0.5): this history says little about who will leave; read its scores "
            "as weak hints[/yellow]"
        )


@churn_app.command("score")
def churn_score(
    customer: Annotated[str, typer.Argument(help="Profile id, e-mail, phone or user id.")],
) -> None:
    """A customer's churn risk now, with the features that move it most."""
    from cxm.insights.churn_data import customer_features, load_latest_model
    from cxm.profiles import resolve_profile_id

    ws = open_workspace()
    model = load_latest_model(ws.path / "models" / "churn")
    with ws.session() as s:
        profile_id = resolve_profile_id(s, customer)
    features = customer_features(ws.query_engine(), ws.journey_map(), datetime.now(UTC))
    if profile_id not in features.index:
        raise InvalidInput(f"{customer} has no history before now in the lake (or churned)")
    row = features.loc[[profile_id]].reindex(columns=model.categorical + model.numeric)
    for column in model.categorical:
        row[column] = row[column].fillna("(none)")
    risk = float(model.predict(row)[0])
    out.print(f"{profile_id}: churn risk {risk:.1%}")
    for name, value, effect in model.reasons(row)[0]:
        out.print(f"  {name} = {value}: {'raises' if effect > 0 else 'lowers'} it ({effect:+.2f})")
