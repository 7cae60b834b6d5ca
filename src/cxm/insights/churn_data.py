"""A workspace's own churn history as a table the churn model can learn from, without leakage.

For a cutoff time, each customer seen before it and not already gone gets features computed
only from what happened **before** the cutoff (from the lake):

- tenure (days since first seen) and recency (days since last seen);
- events, active days and channels used in the last 30 and 90 days;
- contacts, requests for data, resolutions, reopenings and self-service visits in the last 90
  days (the journey map's roles), and requests that asked for known data (``known_asks``);
- the last NPS answer and the mean CSAT/CES answers before the cutoff;
- how often each journey touchpoint was met in the last 90 days (``tp_<id>_90``);
- current non-personal traits with few values (plan, segment-like fields) as categories.

The label is whether the customer churned (an event at a touchpoint whose role is ``churn``)
within ``horizon_days`` after the cutoff. Training takes one cutoff and validates on a later
one whose features start where the first label window ended, so the model is always judged
on a period it never saw (``train_workspace_model``).
"""

from __future__ import annotations

import pickle
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import ibis
import numpy as np
import orjson
import pandas as pd
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from cxm.analytics import Engine, events_table, known_asks_table, traits_table
from cxm.errors import InvalidInput
from cxm.insights.churn import ChurnModel, check_training_data, fit_churn_model
from cxm.journeys.map import JourneyMap
from cxm.journeys.placement import micros
from cxm.metrics.behaviour import classification, placed

DAY_US = 86_400_000_000
ROLES = ("contact", "data_request", "resolution", "reopen", "self_service")
MAX_CATEGORY_LEVELS = 12


def customer_features(engine: Engine, journey: JourneyMap, cutoff: datetime) -> pd.DataFrame:
    """One row per customer active before ``cutoff`` and not churned by then (index:
    customer_id); every column computed from events before the cutoff only."""
    end = micros(cutoff)
    ev = events_table()
    before = ev.filter(ev.t < end)
    d30, d90 = end - 30 * DAY_US, end - 90 * DAY_US
    base = engine.execute(
        before.group_by("customer_id").aggregate(
            first=before.t.min(),
            last=before.t.max(),
            events_30=(before.t >= d30).cast("int64").sum(),
            events_90=(before.t >= d90).cast("int64").sum(),
            days_90=ibis.ifelse(before.t >= d90, before.t // DAY_US, None).nunique(),
            channels_90=ibis.ifelse(before.t >= d90, before.channel, None).nunique(),
        )
    ).set_index("customer_id")
    frame = pd.DataFrame(index=base.index)
    frame["tenure_days"] = (end - base["first"]) / DAY_US
    frame["recency_days"] = (end - base["last"]) / DAY_US
    for column in ("events_30", "events_90", "days_90", "channels_90"):
        frame[column] = base[column].astype(float)
    classes = classification(engine, journey)
    roles = [r for r in ROLES if (classes["role"] == r).any()]
    if roles:
        ev_roles = placed(classes, roles=roles)
        recent = ev_roles.filter((ev_roles.t < end) & (ev_roles.t >= d90))
        known = known_asks_table()
        counts = engine.execute(
            recent.group_by(["customer_id", "role"]).aggregate(
                n=recent.count(), known=recent.seq.isin(known.seq).cast("int64").sum()
            )
        )
        wide = counts.pivot_table(index="customer_id", columns="role", values="n", fill_value=0)
        for role in ROLES:
            frame[f"{role}_90"] = wide[role].reindex(frame.index).fillna(0) if role in wide else 0.0
        asked = counts[counts["role"] == "data_request"].set_index("customer_id")["known"]
        frame["asked_known_90"] = asked.reindex(frame.index).fillna(0).astype(float)
    _touchpoints(engine, classes, end, frame)
    _surveys(engine, classes, end, frame)
    _traits(engine, frame)
    churned_before = _churn_times(engine, classes, None, end)
    return frame.drop(index=frame.index.intersection(churned_before.index))


def _touchpoints(engine: Engine, classes: pd.DataFrame, end: int, frame: pd.DataFrame) -> None:
    """How often each journey touchpoint was met in the last 90 days (``tp_<id>_90``); the
    leaving stage's touchpoints and survey answers are not features but outcomes."""
    leaving = set(classes.loc[classes["role"] == "churn", "stage"].dropna())
    on_map = classes[
        classes["tp"].notna()
        & ~classes["stage"].isin(leaving)
        & (classes["role"].fillna("") != "survey")
    ]
    if on_map.empty:
        return
    ev = placed(on_map)
    recent = ev.filter((ev.t < end) & (ev.t >= end - 90 * DAY_US))
    counts = engine.execute(recent.group_by(["customer_id", "tp"]).aggregate(n=recent.count()))
    if counts.empty:
        return
    wide = counts.pivot_table(index="customer_id", columns="tp", values="n", fill_value=0)
    for tp in sorted(wide.columns):
        frame[f"tp_{tp}_90"] = wide[tp].reindex(frame.index).fillna(0).astype(float)


def _surveys(engine: Engine, classes: pd.DataFrame, end: int, frame: pd.DataFrame) -> None:
    frame["last_nps"] = np.nan
    frame["mean_csat"] = np.nan
    frame["mean_ces"] = np.nan
    if not (classes["role"] == "survey").any():
        return
    answers = placed(classes, roles=["survey"])
    rows = engine.execute(
        answers.filter(answers.t < end).select("customer_id", "t", "properties").order_by("t")
    )
    scores: dict[str, dict[str, list[float]]] = {}
    for customer, _, props in rows.itertuples(index=False):
        try:
            data = orjson.loads(props) if props else {}
        except orjson.JSONDecodeError:
            continue
        kind, score = data.get("kind"), data.get("score")
        if kind in ("nps", "csat", "ces") and isinstance(score, int | float):
            scores.setdefault(customer, {}).setdefault(kind, []).append(float(score))
    for customer, kinds in scores.items():
        if customer not in frame.index:
            continue
        if kinds.get("nps"):
            frame.at[customer, "last_nps"] = kinds["nps"][-1]
        for kind in ("csat", "ces"):
            if kinds.get(kind):
                frame.at[customer, f"mean_{kind}"] = float(np.mean(kinds[kind]))


def _traits(engine: Engine, frame: pd.DataFrame) -> None:
    """Current traits with few distinct values, as categories (``(none)`` where unknown)."""
    traits = traits_table()
    rows = engine.execute(traits.select("customer_id", "key", "value"))
    if rows.empty:
        return
    levels = rows.groupby("key")["value"].nunique()
    coverage = rows.groupby("key")["customer_id"].nunique() / max(len(frame), 1)
    keep = [k for k in levels.index
            if 1 < levels[k] <= MAX_CATEGORY_LEVELS and coverage[k] >= 0.2]  # fmt: skip
    for key in sorted(keep):
        values = rows[rows["key"] == key].drop_duplicates("customer_id").set_index("customer_id")
        frame[f"trait_{key}"] = values["value"].reindex(frame.index).fillna("(none)").astype(str)


def _churn_times(
    engine: Engine, classes: pd.DataFrame, start: int | None, end: int | None
) -> pd.Series:
    if not (classes["role"] == "churn").any():
        return pd.Series(dtype="int64")
    churn = placed(classes, roles=["churn"])
    if start is not None:
        churn = churn.filter(churn.t >= start)
    if end is not None:
        churn = churn.filter(churn.t < end)
    first = engine.execute(churn.group_by("customer_id").aggregate(at=churn.t.min()))
    return first.set_index("customer_id")["at"]


def churn_labels(
    engine: Engine, journey: JourneyMap, customers: pd.Index, cutoff: datetime, horizon_days: int
) -> np.ndarray:
    """1 for each customer who churned within ``horizon_days`` after ``cutoff``."""
    classes = classification(engine, journey)
    start = micros(cutoff)
    gone = _churn_times(engine, classes, start, start + horizon_days * DAY_US)
    return customers.isin(gone.index).astype(int)


@dataclass
class WorkspaceChurn:
    model: ChurnModel
    train_cutoff: datetime
    test_cutoff: datetime
    horizon_days: int
    train_customers: int
    train_churned: int
    test_customers: int
    test_churned: int
    roc_auc: float
    pr_auc: float
    brier: float
    base_rate: float


def train_workspace_model(
    engine: Engine, journey: JourneyMap, *, now: datetime, horizon_days: int = 60
) -> WorkspaceChurn:
    """Train on the customers as they were ``2 × horizon`` before the data's end and judged on
    the next ``horizon``; validate on the customers as they were one ``horizon`` before the end
    (features up to then, labels after it), a period the model never saw; then refit on the
    later period, so the published model knows the most recent behaviour.

    Raises InvalidInput (no model is published) when the history is too short or one period
    lacks churners or stayers."""
    ev = events_table()
    span = engine.execute(ev.aggregate(first=ev.t.min(), last=ev.t.max()))
    if span.empty or pd.isna(span["last"].iloc[0]):
        raise InvalidInput("the lake holds no events yet: sync it (`cxm lake sync`) first")
    last = datetime.fromtimestamp(int(span["last"].iloc[0]) / 1e6, tz=now.tzinfo)
    first = datetime.fromtimestamp(int(span["first"].iloc[0]) / 1e6, tz=now.tzinfo)
    horizon = timedelta(days=horizon_days)
    test_cutoff = last - horizon
    train_cutoff = test_cutoff - horizon
    if train_cutoff - first < timedelta(days=30):
        raise InvalidInput(
            f"the history runs from {first:%Y-%m-%d} to {last:%Y-%m-%d}: a churn model needs "
            f"at least {2 * horizon_days + 30} days (30 to learn from, and two windows of "
            f"{horizon_days} days to label and to test)"
        )
    train_x = customer_features(engine, journey, train_cutoff)
    train_y = churn_labels(engine, journey, train_x.index, train_cutoff, horizon_days)
    test_x = customer_features(engine, journey, test_cutoff)
    test_y = churn_labels(engine, journey, test_x.index, test_cutoff, horizon_days)
    try:
        check_training_data(train_x, train_y)
        check_training_data(test_x, test_y)
    except InvalidInput as exc:
        raise InvalidInput(f"no churn model: {exc.message}") from exc
    judged = fit_churn_model(train_x, train_y)
    columns = judged.categorical + judged.numeric
    test_x = test_x.reindex(columns=columns)
    for column in judged.categorical:
        test_x[column] = test_x[column].fillna("(none)")
    p = judged.predict(test_x)
    model = fit_churn_model(test_x, test_y)
    return WorkspaceChurn(
        model=model,
        train_cutoff=train_cutoff,
        test_cutoff=test_cutoff,
        horizon_days=horizon_days,
        train_customers=len(train_y),
        train_churned=int(train_y.sum()),
        test_customers=len(test_y),
        test_churned=int(test_y.sum()),
        roc_auc=float(roc_auc_score(test_y, p)),
        pr_auc=float(average_precision_score(test_y, p)),
        brier=float(brier_score_loss(test_y, p)),
        base_rate=float(test_y.mean()),
    )


def save_workspace_model(result: WorkspaceChurn, models_dir: Path) -> Path:
    """Keep the model beside every earlier version, and its figures in ``versions.jsonl``
    (one line per version: when, the periods, the customers and the validation figures)."""
    models_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(result.test_cutoff.tzinfo).strftime("%Y%m%dT%H%M%S")
    path = models_dir / f"churn-{stamp}.pkl"
    path.write_bytes(pickle.dumps(result.model))
    record = {k: v for k, v in asdict(result).items() if k != "model"}
    record["file"] = path.name
    with (models_dir / "versions.jsonl").open("ab") as handle:
        handle.write(orjson.dumps(record, default=str) + b"\n")
    return path


def model_versions(models_dir: Path) -> list[dict[str, Any]]:
    path = models_dir / "versions.jsonl"
    if not path.exists():
        return []
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def load_latest_model(models_dir: Path) -> ChurnModel:
    versions = model_versions(models_dir)
    if not versions:
        raise InvalidInput("no churn model yet: train one with `cxm insights churn train`")
    # The workspace's own file, written by this code: trusted like the rest of the workspace.
    model: ChurnModel = pickle.loads((models_dir / versions[-1]["file"]).read_bytes())  # noqa: S301
    return model
