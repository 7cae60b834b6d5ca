"""Moments of truth: which touchpoints, topics and effort signals move churn and NPS, by how
much, how sure we are, and which departments own them.

Each **driver** is an exposure a customer had in a 90-day window: a touchpoint on the journey
map they met, a text they wrote on a discovered topic, or an effort signal (asked again for
data cxm already held, a reopened case, three or more contacts, contacts in two or more channel
families). Two outcomes are explained:

- **churn**: customers as they were at several cutoffs (one ``horizon`` apart, the last one
  ``horizon`` before the data ends), exposures in the 90 days before each cutoff, and whether
  the customer churned in the ``horizon`` after it;
- **NPS**: every NPS answer, exposures in the 90 days before it, and its value (+100 for a
  promoter, 0 for a passive, −100 for a detractor, so a group's mean *is* its NPS).

The effect of a driver is its coefficient in one linear model of the outcome on all drivers
together, with controls for activity (log events in the window), tenure and the period: the
change in churn probability (percentage points) or in NPS (points) that goes with the exposure
when everything else in the model is the same. Customers meet touchpoints together (a repair
journey passes the IVR, the call centre and a technician), so a driver's raw difference mixes
its own effect with its companions'; the joint model separates what the data can separate.
Uncertainty is a 95% interval from cluster-robust standard errors (customers are clusters: the
same customer appears at several cutoffs and answers more than once), and the p-values are
corrected for the number of drivers (Benjamini–Hochberg). These are associations in
observational data, not experiments: a driver is where to look first, and a campaign with a
holdout (``cxm.automation.campaigns``) is how to prove a fix.

**Impact** ranks what to fix: churn, the customers lost per ``horizon`` that go with the
exposure (effect × exposed customers per period); NPS, the points of the whole base's NPS it
costs (effect × share of answers exposed). Departments own drivers through the journey map's
influence matrix: a touchpoint's influence weights, a topic's touchpoints where its texts were
written, an effort signal's touchpoints of its role. A department's "fix this first" list is
the harmful, significant drivers ranked by impact × its influence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import ibis
import numpy as np
import orjson
import pandas as pd
from scipy import stats

from cxm.analytics import Engine, events_table, known_asks_table
from cxm.errors import InvalidInput
from cxm.journeys.map import JourneyMap
from cxm.metrics.behaviour import classification, placed
from cxm.metrics.changes import bh_adjusted

DAY_US = 86_400_000_000
WINDOW_DAYS = 90
MIN_EXPOSED = 20
MAX_SHARE = 0.8  # a touchpoint nearly everyone meets (the invoice) separates nobody
MAX_PERIODS = 4
EFFORT_SIGNALS = {
    "asked_again": "Asked again for data we held",
    "reopened": "A case reopened",
    "repeat_contact": "Three or more contacts",
    "channel_hopping": "Contacts in two or more channels",
}
# The touchpoints whose role an effort signal counts: they own the signal.
EFFORT_ROLES = {
    "asked_again": "data_request",
    "reopened": "reopen",
    "repeat_contact": "contact",
    "channel_hopping": "contact",
}
NPS_VALUE = {"detractor": -100.0, "passive": 0.0, "promoter": 100.0}


@dataclass(frozen=True)
class Driver:
    """One exposure's effect on one outcome."""

    outcome: str  # churn | nps
    kind: str  # touchpoint | topic | effort
    key: str
    label: str
    exposed: int  # rows (customer-periods or answers) with the exposure
    customers: int  # distinct customers exposed
    rate_exposed: float  # churn rate or NPS among the exposed
    rate_other: float
    effect: float  # adjusted: churn in percentage points, NPS in points
    low: float
    high: float
    p_value: float
    q_value: float
    impact: float  # churn: customers lost per period; NPS: points of the base's NPS
    owners: dict[str, float] = field(default_factory=dict)

    @property
    def harmful(self) -> bool:
        return self.effect > 0 if self.outcome == "churn" else self.effect < 0

    @property
    def significant(self) -> bool:
        return self.q_value < 0.05

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "kind": self.kind,
            "key": self.key,
            "label": self.label,
            "exposed": self.exposed,
            "customers": self.customers,
            "rate_exposed": _round(self.rate_exposed),
            "rate_other": _round(self.rate_other),
            "effect": _round(self.effect),
            "ci": [_round(self.low), _round(self.high)],
            "p_value": self.p_value,
            "q_value": self.q_value,
            "harmful": self.harmful,
            "significant": self.significant,
            "impact": _round(self.impact),
            "owners": self.owners,
        }


@dataclass(frozen=True)
class DriverAnalysis:
    """Drivers of one outcome, and what was left out."""

    outcome: str
    rows: int  # customer-periods (churn) or answers (NPS)
    customers: int
    outcome_rate: float  # churn rate, or NPS
    periods: int
    horizon_days: int
    drivers: list[Driver]
    too_rare: list[str]  # drivers seen fewer than MIN_EXPOSED times: not judged
    too_common: list[str]  # met by more than MAX_SHARE of the rows: no contrast to judge

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "rows": self.rows,
            "customers": self.customers,
            "outcome_rate": _round(self.outcome_rate),
            "periods": self.periods,
            "horizon_days": self.horizon_days,
            "drivers": [d.to_dict() for d in self.drivers],
            "too_rare": self.too_rare,
            "too_common": self.too_common,
        }


def _round(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 4)


# --------------------------------------------------------------------------------------------
# The statistics (pure)


def fit_drivers(
    exposures: pd.DataFrame,
    outcome: np.ndarray,
    controls: pd.DataFrame,
    clusters: np.ndarray,
) -> pd.DataFrame:
    """Each exposure's effect on ``outcome`` with ``controls`` held equal, one driver at a time.

    For every 0/1 column of ``exposures``: the coefficient of that column in the linear model
    ``outcome ~ 1 + column + controls`` (computed for all columns at once by partialling the
    controls out, Frisch–Waugh–Lovell), its cluster-robust standard error (CR1, one cluster per
    customer), the 95% interval and the two-sided p-value (t with G−1 degrees of freedom).

    >>> rng = np.random.default_rng(0)
    >>> x = pd.DataFrame({"a": rng.integers(0, 2, 400)})
    >>> y = 0.3 * x["a"].to_numpy() + rng.normal(0, 0.1, 400)
    >>> fit = fit_drivers(x, y, pd.DataFrame(index=x.index), np.arange(400))
    >>> bool(abs(fit.loc["a", "effect"] - 0.3) < 0.05)
    True
    """
    y = np.asarray(outcome, dtype=float)
    base = np.column_stack([np.ones(len(y)), controls.to_numpy(dtype=float)])
    # The residuals of y and of every exposure after the controls.
    projector = np.linalg.pinv(base.T @ base) @ base.T
    y_rest = y - base @ (projector @ y)
    x = exposures.to_numpy(dtype=float)
    x_rest = x - base @ (projector @ x)
    xx = (x_rest**2).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        effect = np.where(xx > 0, (x_rest * y_rest[:, None]).sum(axis=0) / xx, 0.0)
    residual = y_rest[:, None] - x_rest * effect
    codes, uniques = pd.factorize(clusters)
    groups = len(uniques)
    scores = np.zeros((groups, x.shape[1]))
    np.add.at(scores, codes, x_rest * residual)
    n, k = len(y), base.shape[1] + 1
    correction = (groups / max(groups - 1, 1)) * ((n - 1) / max(n - k, 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.where(xx > 0, np.sqrt((scores**2).sum(axis=0) * correction) / xx, np.inf)
        t = np.where(se > 0, effect / se, 0.0)
    dof = max(groups - 1, 1)
    critical = float(stats.t.ppf(0.975, dof))
    return pd.DataFrame(
        {
            "effect": effect,
            "se": se,
            "low": effect - critical * se,
            "high": effect + critical * se,
            "p_value": 2 * stats.t.sf(np.abs(t), dof),
        },
        index=list(exposures.columns),
    )


def merge_twins(exposures: pd.DataFrame, *, jaccard: float = 0.9) -> dict[str, list[str]]:
    """Groups of exposures that (nearly) always come together: each group's first column
    stands for all of them (their effects cannot be told apart). Returns first → members.

    >>> x = pd.DataFrame({"ivr": [1, 1, 0, 1], "call": [1, 1, 0, 1], "web": [0, 1, 1, 0]})
    >>> merge_twins(x)
    {'ivr': ['ivr', 'call'], 'web': ['web']}
    """
    columns = list(exposures.columns)
    matrix = exposures.to_numpy(dtype=float)
    both = matrix.T @ matrix
    sizes = np.diag(both)
    union = sizes[:, None] + sizes[None, :] - both
    with np.errstate(divide="ignore", invalid="ignore"):
        similar = np.where(union > 0, both / union, 0.0)
    groups: dict[str, list[str]] = {}
    taken: set[int] = set()
    for i, column in enumerate(columns):
        if i in taken:
            continue
        members = [j for j in range(i, len(columns)) if j not in taken and similar[i, j] >= jaccard]
        taken.update(members)
        groups[column] = [columns[j] for j in members]
    return groups


def _analyse(
    outcome: str,
    rows: pd.DataFrame,
    y: np.ndarray,
    catalogue: dict[str, tuple[str, str, dict[str, float]]],
    periods: int,
    horizon_days: int,
) -> DriverAnalysis:
    """Judge every driver column of ``rows`` (``d:<kind>:<key>``) against ``y``."""
    driver_columns = [c for c in rows.columns if c.startswith("d:")]
    counts = rows[driver_columns].sum()
    common = MAX_SHARE * len(rows)
    judged = [c for c in driver_columns if MIN_EXPOSED <= counts[c] <= common]
    too_rare = sorted(c[2:] for c in driver_columns if counts[c] < MIN_EXPOSED)
    too_common = sorted(c[2:] for c in driver_columns if counts[c] > common)
    twins = merge_twins(rows[judged]) if judged else {}
    for first, members in twins.items():
        if len(members) > 1:  # one driver for the group, named by all of its members
            labels = [catalogue.get(c, (c, "", {}))[0] for c in members]
            owners: dict[str, float] = {}
            for c in members:
                for department, weight in catalogue.get(c, ("", "", {}))[2].items():
                    owners[department] = max(owners.get(department, 0.0), weight)
            catalogue[first] = (" + ".join(labels), catalogue.get(first, ("", "", {}))[1], owners)
    judged = list(twins)
    controls = pd.DataFrame(
        {"log_events": np.log1p(rows["events"]), "tenure_years": rows["tenure_years"]},
        index=rows.index,
    )
    if periods > 1:
        dummies = pd.get_dummies(rows["period"], prefix="p", drop_first=True, dtype=float)
        controls = pd.concat([controls, dummies], axis=1)
    scale = 100.0 if outcome == "churn" else 1.0  # churn effects in percentage points
    drivers: list[Driver] = []
    if judged:
        fit = fit_drivers(rows[judged], y, controls, rows["customer_id"].to_numpy())
        q = bh_adjusted(fit["p_value"].tolist())
        for (column, row), q_value in zip(fit.iterrows(), q, strict=True):
            exposed = rows[column].to_numpy(dtype=bool)
            kind, _, key = column[2:].partition(":")
            label, _, owners = catalogue.get(column, (key, kind, {}))
            effect = float(row["effect"]) * scale
            if outcome == "churn":
                impact = effect / 100 * int(exposed.sum()) / periods
            else:
                impact = effect * float(exposed.mean())
            drivers.append(
                Driver(
                    outcome=outcome,
                    kind=kind,
                    key=key,
                    label=label,
                    exposed=int(exposed.sum()),
                    customers=int(rows.loc[exposed, "customer_id"].nunique()),
                    rate_exposed=float(y[exposed].mean()) * scale,
                    rate_other=float(y[~exposed].mean()) * scale,
                    effect=effect,
                    low=float(row["low"]) * scale,
                    high=float(row["high"]) * scale,
                    p_value=float(row["p_value"]),
                    q_value=float(q_value),
                    impact=impact,
                    owners=owners,
                )
            )
    drivers.sort(key=lambda d: (not (d.harmful and d.significant), -abs(d.impact)))
    return DriverAnalysis(
        outcome=outcome,
        rows=len(rows),
        customers=int(rows["customer_id"].nunique()),
        outcome_rate=float(np.mean(y)) * scale if len(y) else float("nan"),
        periods=periods,
        horizon_days=horizon_days,
        drivers=drivers,
        too_rare=too_rare,
        too_common=too_common,
    )


def fix_first(analyses: list[DriverAnalysis], *, top: int = 5) -> dict[str, list[dict[str, Any]]]:
    """Per department: its harmful, significant drivers by impact × its influence."""
    ranked: dict[str, list[dict[str, Any]]] = {}
    for analysis in analyses:
        for driver in analysis.drivers:
            if not (driver.harmful and driver.significant):
                continue
            for department, weight in driver.owners.items():
                ranked.setdefault(department, []).append(
                    {
                        "outcome": driver.outcome,
                        "kind": driver.kind,
                        "key": driver.key,
                        "label": driver.label,
                        "effect": _round(driver.effect),
                        "ci": [_round(driver.low), _round(driver.high)],
                        "impact": _round(driver.impact),
                        "influence": weight,
                        "priority": abs(driver.impact) * weight,
                    }
                )
    for department, items in ranked.items():
        # Churn and NPS impacts are on different scales: rank within each, then interleave
        # by rank so neither outcome crowds out the other.
        by_outcome: dict[str, list[dict[str, Any]]] = {}
        for item in sorted(items, key=lambda i: -i["priority"]):
            by_outcome.setdefault(item["outcome"], []).append(item)
        merged = [
            item
            for position in range(max(len(v) for v in by_outcome.values()))
            for outcome in ("churn", "nps")
            for item in by_outcome.get(outcome, [])[position : position + 1]
        ]
        for item in merged:
            item["priority"] = round(item["priority"], 4)
        ranked[department] = merged[:top]
    return dict(sorted(ranked.items()))


# --------------------------------------------------------------------------------------------
# The data (the lake, and the texts' topics from the store)


@dataclass(frozen=True)
class TopicTexts:
    """Texts with a topic: the event each was written in, and the topic's name."""

    seqs: list[int]
    topics: list[int]
    names: dict[int, str]


def _windows_exposures(
    engine: Engine,
    journey: JourneyMap,
    classes: pd.DataFrame,
    windows: pd.DataFrame,
    texts: TopicTexts | None,
) -> tuple[pd.DataFrame, dict[str, tuple[str, str, dict[str, float]]]]:
    """For each window (row_id, customer_id, w0, w1 in µs): its driver columns, its event
    count, and the catalogue of drivers (label, kind, owners)."""
    excluded_stages = {t.stage for t in journey.touchpoints if t.role == "churn"}
    on_map = classes[
        classes["tp"].notna()
        & ~classes["stage"].isin(excluded_stages)
        & (classes["role"].fillna("") != "survey")
    ]
    w = ibis.memtable(windows[["row_id", "customer_id", "w0", "w1"]])
    ev = events_table()
    inside = ev.join(w, ev.customer_id == w.customer_id).filter(
        lambda t: (t.t >= t.w0) & (t.t < t.w1)
    )
    counts = engine.execute(inside.group_by("row_id").aggregate(events=inside.count()))
    frame = windows[["row_id"]].merge(counts, on="row_id", how="left").fillna({"events": 0})
    frame = frame.set_index("row_id")
    catalogue: dict[str, tuple[str, str, dict[str, float]]] = {}
    by_id = {t.id: t for t in journey.touchpoints}

    # Touchpoints met in the window.
    if not on_map.empty:
        placed_ev = placed(on_map)
        hits = placed_ev.join(w, placed_ev.customer_id == w.customer_id).filter(
            lambda t: (t.t >= t.w0) & (t.t < t.w1)
        )
        met = engine.execute(
            hits.group_by(["row_id", "tp", "role", "family"]).aggregate(
                n=hits.count(), known=hits.seq.isin(known_asks_table().seq).cast("int64").sum()
            )
        )
    else:
        met = pd.DataFrame(columns=["row_id", "tp", "role", "family", "n", "known"])
    for tp in sorted(set(met["tp"])):
        column = f"d:touchpoint:{tp}"
        rows = met.loc[met["tp"] == tp, "row_id"].unique()
        frame[column] = frame.index.isin(rows).astype(np.int8)
        touchpoint = by_id[tp]
        catalogue[column] = (touchpoint.name, "touchpoint", dict(touchpoint.influence))

    # Effort signals.
    roles = met.groupby(["row_id", "role"])["n"].sum().unstack(fill_value=0)
    known = met.loc[met["role"] == "data_request"].groupby("row_id")["known"].sum()
    contact = met.loc[met["role"] == "contact"]
    families = contact.groupby("row_id")["family"].nunique()
    signals = {
        "asked_again": known[known > 0].index,
        "reopened": roles.index[roles["reopen"] > 0] if "reopen" in roles else [],
        "repeat_contact": roles.index[roles["contact"] >= 3] if "contact" in roles else [],
        "channel_hopping": families[families >= 2].index,
    }
    for signal, hit_rows in signals.items():
        column = f"d:effort:{signal}"
        frame[column] = frame.index.isin(list(hit_rows)).astype(np.int8)
        owners = _role_owners(journey, EFFORT_ROLES[signal])
        catalogue[column] = (EFFORT_SIGNALS[signal], "effort", owners)

    # Topics of the texts written in the window.
    if texts is not None and texts.seqs:
        tx = ibis.memtable(pd.DataFrame({"tseq": texts.seqs, "topic": texts.topics}))
        written = ev.join(tx, ev.seq == tx.tseq)
        hits = written.join(w, written.customer_id == w.customer_id).filter(
            lambda t: (t.t >= t.w0) & (t.t < t.w1)
        )
        topical = engine.execute(hits.select("row_id", "topic").distinct())
        where = _topic_touchpoints(engine, classes, texts)
        for topic in sorted(set(topical["topic"])):
            column = f"d:topic:{topic}"
            rows = topical.loc[topical["topic"] == topic, "row_id"].unique()
            frame[column] = frame.index.isin(rows).astype(np.int8)
            owners = _weighted_owners(journey, where.get(int(topic), {}))
            name = texts.names.get(int(topic), f"topic {topic}")
            catalogue[column] = (name, "topic", owners)
    return frame, catalogue


def _role_owners(journey: JourneyMap, role: str) -> dict[str, float]:
    touchpoints = journey.with_role(role)
    return _weighted_owners(journey, {t.id: 1.0 for t in touchpoints})


def _weighted_owners(journey: JourneyMap, shares: dict[str, float]) -> dict[str, float]:
    """Departments' influence over a mix of touchpoints (shares summing to anything)."""
    total = sum(shares.values())
    if total <= 0:
        return {}
    by_id = {t.id: t for t in journey.touchpoints}
    owners: dict[str, float] = {}
    for tp, share in shares.items():
        if tp not in by_id:
            continue
        for department, weight in by_id[tp].influence.items():
            owners[department] = owners.get(department, 0.0) + weight * share / total
    return {d: round(w, 3) for d, w in sorted(owners.items(), key=lambda i: -i[1]) if w >= 0.05}


def _topic_touchpoints(
    engine: Engine, classes: pd.DataFrame, texts: TopicTexts
) -> dict[int, dict[str, float]]:
    """Where each topic's texts were written: touchpoint → number of texts."""
    on_map = classes[classes["tp"].notna()]
    if on_map.empty:
        return {}
    placed_ev = placed(on_map)
    tx = ibis.memtable(pd.DataFrame({"tseq": texts.seqs, "topic": texts.topics}))
    joined = placed_ev.join(tx, placed_ev.seq == tx.tseq)
    counts = engine.execute(joined.group_by(["topic", "tp"]).aggregate(n=joined.count()))
    where: dict[int, dict[str, float]] = {}
    for topic, tp, n in counts.itertuples(index=False):
        where.setdefault(int(topic), {})[str(tp)] = float(n)
    return where


def _data_span(engine: Engine) -> tuple[int, int]:
    ev = events_table()
    span = engine.execute(ev.aggregate(first=ev.t.min(), last=ev.t.max()))
    if span.empty or pd.isna(span["last"].iloc[0]):
        raise InvalidInput("the lake holds no events yet: sync it (`cxm lake sync`) first")
    return int(span["first"].iloc[0]), int(span["last"].iloc[0])


def churn_drivers(
    engine: Engine,
    journey: JourneyMap,
    *,
    horizon_days: int = 60,
    texts: TopicTexts | None = None,
) -> DriverAnalysis:
    """Drivers of churn over up to four periods of ``horizon_days`` (see the module's text)."""
    classes = classification(engine, journey)
    if not (classes["role"] == "churn").any():
        raise InvalidInput(
            "no touchpoint of the journey map has the role 'churn' (or none of its events "
            "arrived), so cxm cannot tell who left; give the cancellation touchpoint role: churn"
        )
    first, last = _data_span(engine)
    horizon = horizon_days * DAY_US
    cutoffs = [
        last - horizon * (k + 1)
        for k in range(MAX_PERIODS)
        if last - horizon * (k + 1) - WINDOW_DAYS * DAY_US >= first
    ]
    if not cutoffs:
        days = WINDOW_DAYS + horizon_days
        raise InvalidInput(
            f"churn drivers need at least {days} days of history ({WINDOW_DAYS} to see "
            f"exposures, {horizon_days} to see who left); the lake holds "
            f"{(last - first) // DAY_US} days"
        )
    churn = placed(classes, roles=["churn"])
    gone = engine.execute(churn.group_by("customer_id").aggregate(at=churn.t.min()))
    gone_at = gone.set_index("customer_id")["at"]
    ev = events_table()
    seen = engine.execute(ev.group_by("customer_id").aggregate(first=ev.t.min()))
    seen = seen.set_index("customer_id")["first"]
    windows = []
    for period, cutoff in enumerate(sorted(cutoffs)):
        active = seen[seen < cutoff].index
        left = gone_at.reindex(active)
        still = active[(left.isna() | (left >= cutoff)).to_numpy()]
        churned = left.reindex(still).between(cutoff, cutoff + horizon - 1).to_numpy()
        windows.append(
            pd.DataFrame(
                {
                    "customer_id": still,
                    "w0": cutoff - WINDOW_DAYS * DAY_US,
                    "w1": cutoff,
                    "period": period,
                    "y": churned.astype(float),
                    "tenure_years": np.minimum((cutoff - seen.reindex(still)) / DAY_US / 365, 5),
                }
            )
        )
    frame = pd.concat(windows, ignore_index=True)
    frame["row_id"] = np.arange(len(frame))
    exposures, catalogue = _windows_exposures(engine, journey, classes, frame, texts)
    rows = frame.set_index("row_id").join(exposures)
    rows = rows[rows["events"] > 0]  # active in the window: someone the company could reach
    _check_outcome(rows["y"].to_numpy(), "churn", "churned", "stayed")
    return _analyse("churn", rows, rows["y"].to_numpy(), catalogue, len(cutoffs), horizon_days)


def nps_drivers(
    engine: Engine, journey: JourneyMap, *, texts: TopicTexts | None = None
) -> DriverAnalysis:
    """Drivers of NPS over every NPS answer (see the module's text)."""
    classes = classification(engine, journey)
    answers = _nps_answers(engine, classes)
    if len(answers) < 100:
        raise InvalidInput(
            f"NPS drivers need at least 100 NPS answers (Survey Answered events with kind "
            f"'nps'); the lake holds {len(answers)}"
        )
    ev = events_table()
    seen = engine.execute(ev.group_by("customer_id").aggregate(first=ev.t.min()))
    seen = seen.set_index("customer_id")["first"]
    answers["w0"] = answers["t"] - WINDOW_DAYS * DAY_US
    answers["w1"] = answers["t"]
    answers["period"] = 0
    first_seen = seen.reindex(answers["customer_id"]).to_numpy()
    answers["tenure_years"] = np.minimum((answers["t"].to_numpy() - first_seen) / DAY_US / 365, 5)
    answers["row_id"] = np.arange(len(answers))
    exposures, catalogue = _windows_exposures(engine, journey, classes, answers, texts)
    rows = answers.set_index("row_id").join(exposures)
    _check_outcome((rows["y"] < 0).to_numpy(dtype=float), "NPS", "detractors", "others")
    return _analyse("nps", rows, rows["y"].to_numpy(dtype=float), catalogue, 1, 0)


def _nps_answers(engine: Engine, classes: pd.DataFrame) -> pd.DataFrame:
    empty = pd.DataFrame(columns=["customer_id", "t", "y"])
    if not (classes["role"] == "survey").any():
        return empty
    answered = placed(classes, roles=["survey"])
    rows = engine.execute(answered.select("customer_id", "t", "properties"))
    kept = []
    for customer, t, props in rows.itertuples(index=False):
        try:
            data = orjson.loads(props) if props else {}
        except orjson.JSONDecodeError:
            continue
        score = data.get("score")
        if data.get("kind") != "nps" or isinstance(score, bool):
            continue
        if not isinstance(score, int | float) or not 0 <= score <= 10:
            continue
        band = "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"
        kept.append((customer, int(t), NPS_VALUE[band]))
    return pd.DataFrame(kept, columns=["customer_id", "t", "y"]) if kept else empty


def _check_outcome(flags: np.ndarray, name: str, yes: str, no: str) -> None:
    positives, negatives = int(flags.sum()), int(len(flags) - flags.sum())
    if positives < MIN_EXPOSED or negatives < MIN_EXPOSED:
        raise InvalidInput(
            f"{name} drivers need at least {MIN_EXPOSED} customers who {yes} and "
            f"{MIN_EXPOSED} who {no}; the history has {positives} and {negatives}"
        )


def topic_texts(session: Any) -> TopicTexts:
    """The analysed texts that have a topic, from the store (events only: anonymous survey
    comments cannot be tied to a customer's exposures)."""
    from sqlalchemy import select

    from cxm.text.queries import topic_name
    from cxm.text.tables import text_items, text_topics

    rows = session.execute(
        select(text_items.c.ref, text_items.c.topic_id).where(
            text_items.c.source == "event", text_items.c.topic_id.is_not(None)
        )
    ).all()
    names = {
        int(r.id): topic_name(r.label, orjson.loads(r.keyphrases))
        for r in session.execute(
            select(text_topics.c.id, text_topics.c.label, text_topics.c.keyphrases)
        ).all()
    }
    return TopicTexts(
        seqs=[int(r.ref) for r in rows], topics=[int(r.topic_id) for r in rows], names=names
    )


def analyse_drivers(
    engine: Engine,
    journey: JourneyMap,
    *,
    texts: TopicTexts | None = None,
    horizon_days: int = 60,
) -> dict[str, Any]:
    """Both outcomes (each one, or why it could not be judged) and the departments' lists."""
    analyses: list[DriverAnalysis] = []
    refused: dict[str, str] = {}
    for outcome, run in (
        ("churn", lambda: churn_drivers(engine, journey, horizon_days=horizon_days, texts=texts)),
        ("nps", lambda: nps_drivers(engine, journey, texts=texts)),
    ):
        try:
            analyses.append(run())
        except InvalidInput as exc:
            refused[outcome] = exc.message
    return {
        "analyses": {a.outcome: a.to_dict() for a in analyses},
        "refused": refused,
        "fix_first": fix_first(analyses),
        "computed_at": datetime.now().astimezone().isoformat(timespec="seconds"),
    }


__all__ = [
    "Driver",
    "DriverAnalysis",
    "TopicTexts",
    "analyse_drivers",
    "churn_drivers",
    "fit_drivers",
    "fix_first",
    "nps_drivers",
    "topic_texts",
]
