"""Insights: what the data says that nobody asked about yet. So far, association rules between
the problems customers report and what they buy (``docs/insights.md``); churn and effort
prediction come next.
"""

from __future__ import annotations

from cxm.insights.associations import (
    AssociationReport,
    AssociationRule,
    associate,
    association_report,
)

__all__ = ["AssociationReport", "AssociationRule", "associate", "association_report"]
