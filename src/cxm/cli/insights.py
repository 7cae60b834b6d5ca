"""``cxm insights``: what the data says that nobody asked about yet."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from cxm.cli.context import open_workspace
from cxm.errors import InvalidInput

out = Console()
insights_app = typer.Typer(help="Insights: association rules, churn risk, drivers, alerts.",
                            no_args_is_help=True)  # fmt: skip
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


@insights_app.command("refresh")
def refresh(
    retrain: Annotated[bool, typer.Option(help="Train a new churn model even if fresh.")] = False,
) -> None:
    """Retrain the churn model when stale, score every customer, analyse the drivers of churn
    and NPS, and run the anomaly watch (the worker does this every CXM_INSIGHTS_INTERVAL_S)."""
    ws = open_workspace()
    ws.catch_up()
    report = ws.insights.refresh(retrain=True if retrain else None)
    if report.trained:
        out.print(f"churn model trained: ROC-AUC {report.trained['roc_auc']:.3f} on the later "
                  f"period ({report.trained['file']})")  # fmt: skip
    if report.scored:
        bands = ", ".join(f"{k} {v}" for k, v in report.scored["bands"].items())
        out.print(f"{report.scored['customers']} customers scored: {bands}")
    if report.drivers:
        judged = ", ".join(f"{k} {v}" for k, v in report.drivers.items())
        out.print(f"drivers judged: {judged}")
    out.print(f"{report.alerts} new alerts")
    for step, why in report.refused.items():
        out.print(f"[yellow]{step}: {escape(why)}[/yellow]")


@insights_app.command("drivers")
def drivers(
    outcome: Annotated[str, typer.Option(help="churn or nps.")] = "churn",
    top: Annotated[int, typer.Option(help="How many drivers.")] = 15,
    department: Annotated[
        str | None, typer.Option(help="Only this department's fix-first list.")
    ] = None,
    fresh: Annotated[bool, typer.Option(help="Analyse now instead of the kept result.")] = False,
) -> None:
    """Moments of truth: what moves churn or NPS most, with 95 % intervals, and who owns it."""
    if outcome not in ("churn", "nps"):
        raise InvalidInput(f"--outcome is churn or nps, got {outcome!r}")
    ws = open_workspace()
    kept = None if fresh else ws.insights.drivers()
    if kept is None:
        ws.catch_up()
        ws.sync_lake()
        kept = ws.insights.analyse_drivers()
    if department is not None:
        items = kept["fix_first"].get(department)
        if items is None:
            known = ", ".join(kept["fix_first"]) or "none"
            raise InvalidInput(f"no harmful driver is owned by {department!r}; departments "
                               f"with one: {known}")  # fmt: skip
        table = Table(title=f"{department}: fix this first")
        for column in ("outcome", "driver", "effect (95 % CI)", "impact", "influence"):
            table.add_column(column)
        for i in items:
            table.add_row(i["outcome"], escape(f"{i['kind']}: {i['label']}"),
                          _effect(i["outcome"], i["effect"], i["ci"]), _impact(i),
                          f"{i['influence']:.1f}")  # fmt: skip
        out.print(table)
        return
    if outcome not in kept["analyses"]:
        raise InvalidInput(kept["refused"].get(outcome, f"no {outcome} analysis"))
    analysis = kept["analyses"][outcome]
    rate = analysis["outcome_rate"]
    what = f"churn {rate:.1f} % per period" if outcome == "churn" else f"NPS {rate:+.1f}"
    table = Table(title=f"{outcome} drivers: {analysis['rows']} rows, {analysis['customers']} "
                        f"customers, {what}")  # fmt: skip
    for column in ("driver", "exposed", "with / without", "effect (95 % CI)", "q", "impact",
                   "owners"):  # fmt: skip
        table.add_column(column)
    for d in analysis["drivers"][:top]:
        owners = ", ".join(f"{k} {v:.1f}" for k, v in list(d["owners"].items())[:3])
        table.add_row(escape(f"{d['kind']}: {d['label']}"), str(d["exposed"]),
                      f"{d['rate_exposed']:.1f} / {d['rate_other']:.1f}",
                      _effect(outcome, d["effect"], d["ci"]), f"{d['q_value']:.2g}",
                      _impact(d), escape(owners))  # fmt: skip
    out.print(table)


def _effect(outcome: str, effect: float, ci: list[float]) -> str:
    unit = " pp" if outcome == "churn" else ""
    return f"{effect:+.1f}{unit} ({ci[0]:+.1f} … {ci[1]:+.1f})"


def _impact(item: dict[str, Any]) -> str:
    if item["outcome"] == "churn":
        return f"{item['impact']:+.1f} customers/period"
    return f"{item['impact']:+.2f} NPS points"


@insights_app.command("alerts")
def alerts(limit: Annotated[int, typer.Option(help="How many.")] = 30) -> None:
    """The anomaly watch's alerts, newest first."""
    from cxm.insights.watch import list_alerts

    ws = open_workspace()
    with ws.session() as s:
        found = list_alerts(s, limit=limit)
    if not found:
        out.print("no alerts")
        return
    table = Table(title="alerts")
    for column in ("day", "series", "what", "departments"):
        table.add_column(column)
    for a in found:
        table.add_row(a.day.isoformat(), escape(a.series), escape(a.message),
                      escape(", ".join(a.departments)))  # fmt: skip
    out.print(table)


@churn_app.command("list")
def churn_list(
    band: Annotated[str | None, typer.Option(help="low, medium or high.")] = None,
    limit: Annotated[int, typer.Option(help="How many.")] = 20,
) -> None:
    """The riskiest customers as last scored, with their reasons."""
    from cxm.insights.scoring import BANDS, riskiest

    if band is not None and band not in BANDS:
        raise InvalidInput(f"--band is one of {', '.join(BANDS)}, got {band!r}")
    ws = open_workspace()
    with ws.session() as s:
        rows = riskiest(s, band=band, limit=limit)
    if not rows:
        out.print("no scores yet: `cxm insights refresh` scores every customer")
        return
    table = Table(title="churn risk")
    for column in ("customer", "risk", "band", "reasons"):
        table.add_column(column)
    for r in rows:
        reasons = "; ".join(f"{x['feature']}={x['value']} ({x['effect']:+.2f})"
                            for x in r.to_dict()["reasons"])  # fmt: skip
        table.add_row(r.profile_id, f"{r.risk:.1%}", r.band, escape(reasons))
    out.print(table)
