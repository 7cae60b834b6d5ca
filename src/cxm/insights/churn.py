"""Churn risk: a model any table of customer features can train, with honest validation and
per-customer reasons.

The model averages two calibrated views of the same features:

- gradient boosting (scikit-learn's histogram GBM, small trees, strong regularisation), its
  probabilities calibrated by Platt scaling on held-out folds;
- a logistic regression on one-hot categories and cubic splines of each number (so tenure or
  spend can bend, not only slope), which is calibrated by construction.

Reasons come from the logistic half, whose log-odds are an exact sum over features: a
customer's driver is a feature whose contribution (against the average customer) raises or
lowers their risk most. They explain the half that is linear in the features, and say so.

>>> model = fit_churn_model(features, churned)                               # doctest: +SKIP
>>> model.predict(features.head(3))                                           # doctest: +SKIP
array([0.61, 0.05, 0.33])
>>> model.reasons(features.head(1))[0][:2]                                    # doctest: +SKIP
[('contract', 'Month-to-month', +0.84), ('tenure', 2, +0.52)]

The same code trains on a workspace's own customers and on a public churn table
(``bench/churn.py``: IBM Telco, 7,043 customers).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, SplineTransformer, StandardScaler

from cxm.errors import InvalidInput

MIN_CUSTOMERS = 200
MIN_PER_CLASS = 30


@dataclass(frozen=True)
class CrossValidation:
    roc_auc: float  # mean over folds
    pr_auc: float
    brier: float
    folds: int
    roc_auc_per_fold: list[float] = field(default_factory=list)


def check_training_data(features: pd.DataFrame, churned: Any) -> np.ndarray:
    """The target as 0/1, or InvalidInput saying what is missing for a trustworthy model."""
    y = np.asarray(churned).astype(int)
    if features.shape[1] == 0:
        raise InvalidInput("there are no features to learn from: give the model some columns")
    if len(features) != len(y):
        raise InvalidInput(f"{len(features)} rows of features but {len(y)} outcomes")
    if len(y) < MIN_CUSTOMERS:
        raise InvalidInput(
            f"{len(y)} customers are too few to learn churn from; at least {MIN_CUSTOMERS} "
            "are needed (a longer history, or a wider period)"
        )
    churners = int(y.sum())
    if churners < MIN_PER_CLASS or len(y) - churners < MIN_PER_CLASS:
        raise InvalidInput(
            f"{churners} churned and {len(y) - churners} stayed: each group needs at least "
            f"{MIN_PER_CLASS} customers before a model can tell them apart"
        )
    if set(np.unique(y)) - {0, 1}:
        raise InvalidInput("the outcome must be churned (1) or stayed (0)")
    return y


def _columns(features: pd.DataFrame) -> tuple[list[str], list[str]]:
    categorical = [
        c for c in features
        if features[c].dtype == object or str(features[c].dtype) in ("category", "bool", "string")
    ]  # fmt: skip
    # A measure nobody has (no surveys in this workspace) tells the model nothing.
    numeric = [c for c in features if c not in categorical and features[c].notna().any()]
    return categorical, numeric


def _linear(categorical: list[str], numeric: list[str]) -> Pipeline:
    numbers = make_pipeline(
        SimpleImputer(strategy="median"),
        SplineTransformer(n_knots=4, degree=3),
        StandardScaler(),
    )
    columns = ColumnTransformer(
        [
            ("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), categorical),
            ("num", numbers, numeric),
        ],
        verbose_feature_names_out=False,
    )
    return Pipeline([("columns", columns), ("model", LogisticRegression(C=0.1, max_iter=5000))])


def _boosted(categorical: list[str], numeric: list[str]) -> Pipeline:
    columns = ColumnTransformer(
        [
            ("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), categorical),
            ("num", "passthrough", numeric),
        ]
    )
    gbm = HistGradientBoostingClassifier(
        learning_rate=0.02,
        max_iter=400,
        max_leaf_nodes=8,
        min_samples_leaf=80,
        l2_regularization=1.0,
        early_stopping=False,
        random_state=0,
    )
    return Pipeline(
        [("columns", columns), ("model", CalibratedClassifierCV(gbm, method="sigmoid", cv=3))]
    )


@dataclass
class ChurnModel:
    categorical: list[str]
    numeric: list[str]
    linear: Pipeline
    boosted: Pipeline
    means: np.ndarray  # the average customer, in the linear half's columns

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        """Each customer's probability of churning."""
        x = features[self.categorical + self.numeric]
        return np.asarray(
            (self.linear.predict_proba(x)[:, 1] + self.boosted.predict_proba(x)[:, 1]) / 2
        )

    def reasons(self, features: pd.DataFrame, top: int = 3) -> list[list[tuple[str, Any, float]]]:
        """Per customer, the features that move their risk most against the average customer:
        (feature, its value, change in log-odds), largest effect first."""
        x = features[self.categorical + self.numeric]
        columns = self.linear.named_steps["columns"]
        matrix = np.asarray(columns.transform(x), dtype=float)
        coef = self.linear.named_steps["model"].coef_[0]
        contributions = (matrix - self.means) * coef
        owner = _owners(columns, self.categorical, self.numeric)
        out = []
        for i in range(len(x)):
            per: dict[str, float] = {}
            for j, name in enumerate(owner):
                per[name] = per.get(name, 0.0) + float(contributions[i, j])
            ranked = sorted(per.items(), key=lambda item: -abs(item[1]))[:top]
            out.append([(name, x.iloc[i][name], round(value, 4)) for name, value in ranked])
        return out


def _owners(columns: ColumnTransformer, categorical: list[str], numeric: list[str]) -> list[str]:
    """For each column the linear half sees, the feature it came from."""
    owners: list[str] = []
    encoder = columns.named_transformers_["cat"]
    for feature, levels in zip(categorical, getattr(encoder, "categories_", []), strict=False):
        owners += [feature] * len(levels)
    splines = columns.named_transformers_["num"].named_steps["splinetransformer"]
    per_feature = splines.n_features_out_ // max(len(numeric), 1)
    for feature in numeric:
        owners += [feature] * per_feature
    return owners


def fit_churn_model(features: pd.DataFrame, churned: Any) -> ChurnModel:
    """Train on ``features`` (one row per customer) and ``churned`` (1: left)."""
    y = check_training_data(features, churned)
    categorical, numeric = _columns(features)
    x = features[categorical + numeric]
    linear = _linear(categorical, numeric).fit(x, y)
    boosted = _boosted(categorical, numeric).fit(x, y)
    matrix = np.asarray(linear.named_steps["columns"].transform(x), dtype=float)
    means = matrix.mean(axis=0)
    return ChurnModel(categorical, numeric, linear, boosted, means)


def cross_validate(
    features: pd.DataFrame, churned: Any, *, folds: int = 5, seed: int = 0, baseline: bool = False
) -> CrossValidation:
    """Stratified ``folds``-fold validation of the model (or, with ``baseline``, of a plain
    logistic regression on one-hot categories and standardised numbers)."""
    y = check_training_data(features, churned)
    categorical, numeric = _columns(features)
    x = features[categorical + numeric]
    predicted = np.zeros(len(y))
    per_fold = []
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(x, y):
        if baseline:
            p = _plain_logistic(categorical, numeric).fit(x.iloc[train], y[train])
            predicted[test] = p.predict_proba(x.iloc[test])[:, 1]
        else:
            predicted[test] = fit_churn_model(x.iloc[train], y[train]).predict(x.iloc[test])
        per_fold.append(float(roc_auc_score(y[test], predicted[test])))
    return CrossValidation(
        roc_auc=float(np.mean(per_fold)),
        pr_auc=float(average_precision_score(y, predicted)),
        brier=float(brier_score_loss(y, predicted)),
        folds=folds,
        roc_auc_per_fold=per_fold,
    )


def _plain_logistic(categorical: list[str], numeric: list[str]) -> Pipeline:
    numbers = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
    columns = ColumnTransformer(
        [("cat", OneHotEncoder(handle_unknown="ignore"), categorical), ("num", numbers, numeric)]
    )
    return make_pipeline(columns, LogisticRegression(max_iter=5000))
