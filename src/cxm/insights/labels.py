"""How the churn and experience models' features read to people (no model code here, so
the pages can import it cheaply)."""

from __future__ import annotations

# What each feature is, for people reading a customer's reasons.
FEATURE_LABELS = {
    "tenure_days": "days as a customer",
    "recency_days": "days since last seen",
    "events_30": "interactions, last 30 days",
    "events_90": "interactions, last 90 days",
    "days_90": "active days, last 90 days",
    "channels_90": "channels used, last 90 days",
    "contact_90": "contacts, last 90 days",
    "data_request_90": "requests for data, last 90 days",
    "resolution_90": "resolutions, last 90 days",
    "reopen_90": "reopened cases, last 90 days",
    "self_service_90": "self-service visits, last 90 days",
    "asked_known_90": "asked again for known data, last 90 days",
    "last_nps": "last NPS answer",
    "mean_csat": "mean CSAT",
    "mean_ces": "mean CES",
}


def feature_label(name: str) -> str:
    """>>> feature_label("trait_plan")
    'plan'
    """
    if name.startswith("tp_") and name.endswith("_90"):
        return f"{name[3:-3]}, last 90 days"
    return FEATURE_LABELS.get(name, name.removeprefix("trait_").replace("_", " "))
