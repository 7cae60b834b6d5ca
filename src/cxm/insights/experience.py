"""Experience score without surveys: each customer's likely NPS band, learnt from behaviour.

Few customers answer NPS surveys. Where they did, their behaviour before the answer (contacts,
reopenings, requests for data the profile already held, tenure, earlier survey answers) is
paired with the band they chose:

- **detractor** (0-6), **passive** (7-8), **promoter** (9-10).

The model averages two views of the same features, as the churn model does
(:mod:`cxm.insights.churn`): a multinomial logistic regression on one-hot categories and cubic
splines of each number, and a small, regularised histogram gradient boosting. Both are trained
on the answers as they came, without class weights, so their probabilities estimate how often
each band really occurs: a group's expected NPS (mean P(promoter) − mean P(detractor), × 100)
is then an estimate of the NPS the group would give if everyone answered.

>>> model = fit_experience_model(features, bands)                            # doctest: +SKIP
>>> model.predict_proba(features.head(2))                                    # doctest: +SKIP
   detractor  passive  promoter
0       0.61     0.27      0.12
1       0.08     0.30      0.62
>>> model.expected_nps(features[features["reopen_90"] > 0])                  # doctest: +SKIP
-31.4

:func:`evaluate` judges the model on a later period than it learnt from, next to the simplest
rival (always the most common band, and the earlier period's NPS for a group).
:func:`train_workspace_experience` does all of it on a workspace's own survey answers.

Two limits to keep in mind: features are taken at the start of the answer's month, so the
model reads behaviour up to a month old (a contact in the days just before an answer is not
seen); and it learns from the customers who chose to answer, who may differ from the rest in
ways their behaviour does not show.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import orjson
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import accuracy_score, f1_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder
from threadpoolctl import threadpool_limits

from cxm.analytics import Engine
from cxm.errors import InvalidInput
from cxm.insights.churn import _columns, _linear
from cxm.insights.churn_data import customer_features
from cxm.journeys.map import JourneyMap
from cxm.metrics.behaviour import classification, placed

BANDS = ("detractor", "passive", "promoter")
MIN_ANSWERS = 150
MIN_PER_BAND = 20
MIN_TEST_ANSWERS = 30
# Below this many rows the boosted half runs on one thread: for a few thousand answers threads
# cost more than they give, and on a busy machine OpenMP's waiting threads slow a fit 20-50×.
ONE_THREAD_ROWS = 50_000
# Trait keys that may hold a survey's outcome (a CRM copying "NPS band" onto the profile):
# traits are current values, not values as of the cutoff, so such a trait would leak the answer.
SURVEY_WORDS = frozenset(
    {"nps", "survey", "score", "csat", "ces", "promoter", "detractor", "passive", "satisfaction",
     "rating", "sentiment", "feedback"}
)  # fmt: skip


def nps_band(score: float) -> str:
    """The band of an NPS answer: 0-6 detractor, 7-8 passive, 9-10 promoter."""
    return "detractor" if score <= 6 else "promoter" if score >= 9 else "passive"


def nps_of(bands: Any) -> float:
    """The NPS of a group of answers: % promoters − % detractors."""
    b = np.asarray(bands)
    if len(b) == 0:
        return float("nan")
    return float(100 * ((b == "promoter").mean() - (b == "detractor").mean()))


def check_experience_data(features: pd.DataFrame, bands: Any) -> tuple[pd.DataFrame, np.ndarray]:
    """The usable feature columns and the bands, or InvalidInput saying what is missing for a
    trustworthy model. A column is usable when it holds at least two different values."""
    y = np.asarray(bands, dtype=object)
    if features.shape[1] == 0:
        raise InvalidInput(
            "there are no features to learn from: give the model some columns of behaviour "
            "(contacts, reopenings, tenure, ...)"
        )
    if len(features) != len(y):
        raise InvalidInput(f"{len(features)} rows of features but {len(y)} NPS bands")
    unknown = sorted({str(b) for b in y} - set(BANDS))
    if unknown:
        raise InvalidInput(
            f"unknown NPS bands {unknown}: each answer must be one of {', '.join(BANDS)}"
        )
    usable = [c for c in features if features[c].nunique(dropna=True) > 1]
    if not usable:
        raise InvalidInput(
            f"none of the {features.shape[1]} feature columns is usable (each is empty or holds "
            "a single value): the model needs at least one column that differs between customers"
        )
    if len(y) < MIN_ANSWERS:
        raise InvalidInput(
            f"{len(y)} NPS answers are too few to learn the experience bands from; at least "
            f"{MIN_ANSWERS} are needed (a longer history, or more survey answers)"
        )
    counts = {band: int((y == band).sum()) for band in BANDS}
    if sum(n >= MIN_PER_BAND for n in counts.values()) < 2:
        held = ", ".join(f"{n} {band}s" for band, n in counts.items())
        raise InvalidInput(
            f"the answers hold {held}: at least two bands need {MIN_PER_BAND} answers each "
            "before a model can tell customers apart"
        )
    return features[usable], y


def _boosted(categorical: list[str], numeric: list[str], rows: int) -> Pipeline:
    columns = ColumnTransformer(
        [
            ("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), categorical),
            ("num", "passthrough", numeric),
        ]
    )
    # Leaves of at least 2.5% of the answers (and 10): a few hundred answers carry few splits.
    gbm = HistGradientBoostingClassifier(
        learning_rate=0.05,
        max_iter=150,
        max_leaf_nodes=8,
        min_samples_leaf=max(10, rows // 40),
        l2_regularization=1.0,
        early_stopping=False,
        random_state=0,
    )
    return Pipeline([("columns", columns), ("model", gbm)])


@dataclass
class ExperienceModel:
    """Predicts each customer's NPS band from the columns it was trained on."""

    categorical: list[str]
    numeric: list[str]
    linear: Pipeline
    boosted: Pipeline
    band_counts: dict[str, int] = field(default_factory=dict)  # the answers it learnt from

    def _frame(self, features: pd.DataFrame) -> pd.DataFrame:
        # Columns the model knows but the frame lacks count as unknown (missing numbers,
        # "(none)" categories), as for a customer the workspace knows little about.
        if not set(self.categorical + self.numeric) & set(features.columns):
            raise InvalidInput(
                "the features share no column with the model's: it was trained on "
                f"{', '.join(self.categorical + self.numeric)}"
            )
        return _prepared(features.reindex(columns=self.categorical + self.numeric),
                         self.categorical)  # fmt: skip

    def predict_proba(self, features: pd.DataFrame) -> pd.DataFrame:
        """Per customer (the frame's index), the probability of each band."""
        x = self._frame(features)
        out = pd.DataFrame(0.0, index=features.index, columns=list(BANDS))
        for half in (self.linear, self.boosted):
            with _threads(len(x)):
                p = half.predict_proba(x)
            for j, band in enumerate(half.classes_):
                out[str(band)] += p[:, j] / 2
        return out

    def predict_band(self, features: pd.DataFrame) -> pd.Series:
        """Per customer, the most likely band."""
        return self.predict_proba(features).idxmax(axis=1).rename("band")

    def expected_nps(self, features: pd.DataFrame) -> float:
        """The NPS a group of customers would give if all of them answered: mean P(promoter) −
        mean P(detractor), × 100."""
        if len(features) == 0:
            raise InvalidInput("the group is empty: an expected NPS needs at least one customer")
        p = self.predict_proba(features)
        return float(100 * (p["promoter"].mean() - p["detractor"].mean()))


def _threads(rows: int) -> Any:
    return threadpool_limits(limits=1 if rows < ONE_THREAD_ROWS else None, user_api="openmp")


def _prepared(features: pd.DataFrame, categorical: list[str]) -> pd.DataFrame:
    x = features.copy()
    for column in x:
        if column in categorical:
            x[column] = x[column].astype(object).where(x[column].notna(), "(none)").astype(str)
        else:
            x[column] = pd.to_numeric(x[column], errors="coerce").astype(float)
    return x


def fit_experience_model(features: pd.DataFrame, bands: Any) -> ExperienceModel:
    """Train on ``features`` (one row per NPS answer, as the customer was before answering) and
    ``bands`` (``detractor``, ``passive`` or ``promoter`` per answer)."""
    usable, y = check_experience_data(features, bands)
    categorical, numeric = _columns(usable)
    x = _prepared(usable[categorical + numeric], categorical)
    linear = _linear(categorical, numeric).fit(x, y)
    with _threads(len(x)):
        boosted = _boosted(categorical, numeric, len(y)).fit(x, y)
    counts = {band: int((y == band).sum()) for band in BANDS}
    return ExperienceModel(categorical, numeric, linear, boosted, counts)


@dataclass(frozen=True)
class ExperienceEvaluation:
    """How the model did on answers later than those it learnt from, beside the baseline of
    always guessing the earlier period's most common band (and its NPS, for a group)."""

    split_at: datetime  # training answers came before it, test answers on or after it
    train_answers: int
    test_answers: int
    accuracy: float
    macro_f1: float
    baseline_band: str
    baseline_accuracy: float
    baseline_macro_f1: float
    estimated_nps: float  # the model's expected NPS of the test answers' customers
    actual_nps: float  # what they answered
    nps_error: float  # estimated − actual
    baseline_nps_error: float  # the training period's NPS − the test period's actual NPS
    test_band_counts: dict[str, int] = field(default_factory=dict)


def evaluate(
    features: pd.DataFrame,
    bands: Any,
    answered_at: Any,
    *,
    split: datetime | None = None,
    test_share: float = 0.25,
) -> ExperienceEvaluation:
    """Train on the answers before ``split`` (by default, the time that leaves the latest
    ``test_share`` of answers out) and judge the model on the answers from then on."""
    y = np.asarray(bands, dtype=object)
    at = pd.DatetimeIndex(pd.to_datetime(answered_at, utc=True))
    if not len(features) == len(y) == len(at):
        raise InvalidInput(
            f"{len(features)} rows of features, {len(y)} bands and {len(at)} answer times: "
            "give one of each per answer"
        )
    if len(at) == 0:
        raise InvalidInput("there are no NPS answers to learn from")
    if split is None:
        ordered = at.sort_values()
        split_ts = ordered[min(int(len(ordered) * (1 - test_share)), len(ordered) - 1)]
    else:
        split_ts = pd.Timestamp(split)
        if split_ts.tzinfo is None:
            split_ts = split_ts.tz_localize(UTC)
    test = np.asarray(at >= split_ts)
    if test.sum() < MIN_TEST_ANSWERS:
        raise InvalidInput(
            f"{int(test.sum())} NPS answers on or after {split_ts:%Y-%m-%d}: at least "
            f"{MIN_TEST_ANSWERS} are needed to judge the model on a later period"
        )
    try:
        model = fit_experience_model(features[~test], y[~test])
    except InvalidInput as exc:
        raise InvalidInput(
            f"learning from the answers before {split_ts:%Y-%m-%d} (the rest judge the model): "
            f"{exc.message}"
        ) from exc
    test_x, test_y, train_y = features[test], y[test], y[~test]
    predicted = model.predict_band(test_x).to_numpy()
    counts = pd.Series(train_y).value_counts()
    majority = max(BANDS, key=lambda b: int(counts.get(b, 0)))
    guess = np.full(len(test_y), majority, dtype=object)
    estimated, actual = model.expected_nps(test_x), nps_of(test_y)
    return ExperienceEvaluation(
        split_at=split_ts.to_pydatetime(),
        train_answers=len(train_y),
        test_answers=len(test_y),
        accuracy=float(accuracy_score(test_y, predicted)),
        macro_f1=float(f1_score(test_y, predicted, average="macro", zero_division=0)),
        baseline_band=majority,
        baseline_accuracy=float(accuracy_score(test_y, guess)),
        baseline_macro_f1=float(f1_score(test_y, guess, average="macro", zero_division=0)),
        estimated_nps=estimated,
        actual_nps=actual,
        nps_error=estimated - actual,
        baseline_nps_error=nps_of(train_y) - actual,
        test_band_counts={band: int((test_y == band).sum()) for band in BANDS},
    )


# --- a workspace's own answers ---------------------------------------------------------------


def nps_answers(engine: Engine, journey: JourneyMap, *, end: datetime) -> pd.DataFrame:
    """Every NPS answer before ``end`` (``Survey Answered`` with ``kind`` nps and a score from 0
    to 10), in time order: customer_id, t (epoch µs), answered_at, score, band."""
    columns = ["customer_id", "t", "answered_at", "score", "band"]
    classes = classification(engine, journey)
    if not (classes["role"] == "survey").any():
        return pd.DataFrame(columns=columns)
    survey = placed(classes, roles=["survey"])
    limit = int(end.timestamp() * 1_000_000)
    rows = engine.execute(
        survey.filter(survey.t < limit)
        .select("customer_id", "t", "seq", "properties")
        .order_by(["t", "seq"])
    )
    kept = []
    for customer, t, _, props in rows.itertuples(index=False):
        try:
            data = orjson.loads(props) if props else {}
        except orjson.JSONDecodeError:
            continue
        score = data.get("score") if isinstance(data, dict) else None
        if data.get("kind") != "nps" or isinstance(score, bool):
            continue
        if isinstance(score, int | float) and 0 <= score <= 10:
            at = datetime.fromtimestamp(int(t) / 1e6, tz=UTC)
            kept.append((customer, int(t), at, float(score), nps_band(score)))
    return pd.DataFrame(kept, columns=columns)


def _derived(features: pd.DataFrame) -> pd.DataFrame:
    """``customer_features`` made ready for this model: whether the customer had answered NPS
    before (so a missing ``last_nps`` is not read as an average one), and no trait that may
    carry a survey's outcome."""
    out = features.copy()
    if "last_nps" in out:
        out["answered_nps_before"] = out["last_nps"].notna().astype(float)
    return out.drop(columns=[c for c in out if _survey_trait(str(c))])


def _survey_trait(column: str) -> bool:
    words = re.split(r"[^a-z0-9]+", column.removeprefix("trait_").lower())
    return column.startswith("trait_") and bool(SURVEY_WORDS.intersection(words))


@dataclass
class ExperienceAnswers:
    """One row per NPS answer: ``features`` as the customer was before the answer's month,
    ``answers`` (customer_id, t, answered_at, score, band) in the same order."""

    features: pd.DataFrame
    answers: pd.DataFrame
    skipped: int  # answers from customers with no history before the answer's month


def experience_training_set(
    engine: Engine, journey: JourneyMap, *, end: datetime
) -> ExperienceAnswers:
    """The NPS answers before ``end``, each with its customer's features at the start of the
    month it was given in (one ``customer_features`` call per month, not per answer).

    Features never include the answer or anything after it: the cutoff (midnight UTC on the
    first of the month) comes before the answer, and ``customer_features`` reads only events
    before its cutoff. ``last_nps``, ``mean_csat`` and ``mean_ces`` therefore come from answers
    given strictly earlier, which are known at prediction time too, so they stay."""
    answers = nps_answers(engine, journey, end=end)
    months = answers["answered_at"].map(lambda at: datetime(at.year, at.month, 1, tzinfo=UTC))
    frames, kept = [], []
    for cutoff in sorted(months.unique()):
        month = answers[months == cutoff]
        known = customer_features(engine, journey, cutoff)
        month = month[month["customer_id"].isin(known.index)]
        frames.append(known.loc[month["customer_id"]].reset_index(drop=True))
        kept.append(month)
    if not kept:
        return ExperienceAnswers(pd.DataFrame(), answers, 0)
    features = _derived(pd.concat(frames, ignore_index=True))
    answered = pd.concat(kept, ignore_index=True)
    return ExperienceAnswers(features, answered, len(answers) - len(answered))


@dataclass
class WorkspaceExperience:
    """The model published for a workspace (refit on every answer) and how a model trained the
    same way did on the latest answers."""

    model: ExperienceModel
    evaluation: ExperienceEvaluation
    answers: int
    skipped: int
    first_answer: datetime
    last_answer: datetime


def train_workspace_experience(
    engine: Engine, journey: JourneyMap, *, now: datetime, test_share: float = 0.25
) -> WorkspaceExperience:
    """Train on the earlier NPS answers before ``now``, judge on the latest ``test_share`` of
    them, then refit on all so the published model knows the most recent behaviour.

    Raises InvalidInput (no model is published) when there are too few answers, or too few in
    two bands, to learn from or to judge the model."""
    data = experience_training_set(engine, journey, end=now)
    if data.answers.empty:
        raise InvalidInput(
            "no experience model: the lake holds no NPS answers (Survey Answered events with "
            f"kind nps and a score) before {now:%Y-%m-%d}; at least {MIN_ANSWERS} are needed"
        )
    answers = data.answers
    try:
        model = fit_experience_model(data.features, answers["band"])
        evaluation = evaluate(
            data.features, answers["band"], answers["answered_at"], test_share=test_share
        )
    except InvalidInput as exc:
        raise InvalidInput(f"no experience model: {exc.message}") from exc
    return WorkspaceExperience(
        model=model,
        evaluation=evaluation,
        answers=len(answers),
        skipped=data.skipped,
        first_answer=answers["answered_at"].iloc[0],
        last_answer=answers["answered_at"].iloc[-1],
    )


def score_customers(model: ExperienceModel, features: pd.DataFrame) -> pd.DataFrame:
    """Every customer in ``features`` (``customer_features`` at the time of scoring) with the
    probability of each band and the most likely one.

    >>> score_customers(result.model, customer_features(engine, journey, now))  # doctest: +SKIP
    """
    p = model.predict_proba(_derived(features))
    p["band"] = p[list(BANDS)].idxmax(axis=1)
    return p
