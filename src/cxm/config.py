"""Settings: one pydantic-settings class, every field documented (``docs/configuration.md``)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import phonenumbers
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

if TYPE_CHECKING:
    from cxm.identity.policy import IdentityPolicy

CHANNELS: tuple[str, ...] = (
    "web",
    "app",
    "email",
    "sms",
    "phone",
    "ivr",
    "chat",
    "social",
    "branch",
    "field_service",
    "survey",
    "other",
)
"""Channels a source (and so an interaction) can belong to."""

RETENTION_KINDS: tuple[str, ...] = ("customers", "events", "survey_comments", "messages")
"""Kinds of personal data a retention policy names (``cxm.privacy.retention``)."""


class Settings(BaseSettings):
    """Configuration of a cxm process. Every setting reads ``CXM_<NAME>`` from the environment."""

    model_config = SettingsConfigDict(env_prefix="CXM_", extra="ignore")

    workspace: Path = Field(
        default=Path("./cxm-data"),
        description="Directory holding the workspace: cxm.db, lake/, models/, exports/.",
    )
    database_url: str | None = Field(
        default=None,
        description=(
            "SQLAlchemy URL of the store. Unset: SQLite at <workspace>/cxm.db. "
            "For PostgreSQL use postgresql+psycopg://user@host/db."
        ),
    )
    host: str = Field(default="127.0.0.1", description="Address `cxm serve` listens on.")
    port: int = Field(default=8000, description="Port `cxm serve` listens on.")
    default_region: str = Field(
        default="PL",
        description=(
            "ISO country used to read phone numbers written without a country code "
            "(e.g. 601 234 567 is read as +48 601 234 567)."
        ),
    )
    max_event_bytes: int = Field(
        default=32 * 1024, description="Largest accepted event, in bytes (Segment: 32 KB)."
    )
    max_batch_bytes: int = Field(
        default=500 * 1024, description="Largest accepted batch body, in bytes (Segment: 500 KB)."
    )
    ingest_max_pending_events: int = Field(
        default=200_000,
        description=(
            "Events waiting for the group commit beyond which ingestion answers 429 "
            "with Retry-After instead of queueing more."
        ),
    )
    ingest_commit_max_events: int = Field(
        default=20_000, description="Most events written in one group commit transaction."
    )
    projector_chunk_events: int = Field(
        default=1_000,
        description=(
            "Events the background profile projector applies per transaction. Smaller chunks "
            "keep ingestion's commits from waiting behind it on SQLite; batch rebuilds use more."
        ),
    )
    projector_interval_s: float = Field(
        default=0.5,
        description="Seconds the background projector sleeps when it has caught up with the log.",
    )
    sqlite_synchronous: str = Field(
        default="FULL",
        description=(
            "SQLite PRAGMA synchronous. FULL makes every acknowledged commit survive power loss; "
            "NORMAL survives a process crash only."
        ),
    )
    ui_language: str = Field(default="en", description="Default web UI language: en or pl.")
    identity_limits: dict[str, dict[str, int | None]] = Field(
        default_factory=dict,
        description=(
            "Guardrails per identifier kind as JSON, over the defaults in docs/identity.md, e.g. "
            '`{"phone": {"per_profile": 5, "max_holders": 3}}`: most values of the kind one '
            "profile may hold, and most profiles that may share one value before it stops "
            "linking. Kind `*` sets the rest."
        ),
    )
    match_merge_probability: float = Field(
        default=0.99,
        ge=0.5,
        le=1.0,
        description="Match probability at or above which `cxm resolve` merges two profiles.",
    )
    match_review_probability: float = Field(
        default=0.80,
        ge=0.0,
        le=1.0,
        description=(
            "Match probability from which (up to the merge threshold) a pair of profiles goes "
            "to the review queue; below it they are kept apart."
        ),
    )

    match_interval_s: float = Field(
        default=300.0,
        description=(
            "Seconds between the worker's incremental matching passes over new profiles "
            "(after a first `cxm resolve` has fitted the model)."
        ),
    )
    analytics_engine: Literal["duckdb", "spark"] = Field(
        default="duckdb",
        description=(
            "What runs journey analytics over the lake: DuckDB in-process, or Spark "
            "(install `cxm[spark]`; needs Java 17+)."
        ),
    )
    spark_master: str = Field(
        default="local[2]",
        description="Spark master URL when the analytics engine is Spark (e.g. spark://host:7077).",
    )
    lake_buckets: int = Field(
        default=16,
        ge=1,
        le=4096,
        description=(
            "Customer buckets the lake's events are partitioned into (fixed when the lake is "
            "first written; `cxm lake rebuild` applies a new value)."
        ),
    )
    lake_sync_interval_s: float = Field(
        default=10.0,
        description="Seconds between the worker's lake syncs (new events, moved customers).",
    )

    survey_fatigue_days: int = Field(
        default=30,
        ge=0,
        le=3650,
        description=(
            "No customer is invited to a survey more than once in this many days, across all "
            "surveys; a refused invitation is counted with its reason. 0 turns the rule off."
        ),
    )
    survey_jobs_interval_s: float = Field(
        default=60.0,
        gt=0,
        description=(
            "Seconds between the worker's survey jobs: invitations for touchpoint triggers "
            "(events placed since the last run) and due reminders."
        ),
    )
    survey_trigger_max_age_days: int = Field(
        default=7,
        ge=1,
        le=3650,
        description=(
            "A touchpoint event older than this many days (by the customer's clock) when the "
            "trigger job reads it invites nobody, so importing history surveys no one about "
            "an old visit."
        ),
    )

    text_fields: Annotated[tuple[str, ...], NoDecode] = Field(
        default=("text", "comment", "message", "body", "note", "description", "review"),
        description=(
            "Event properties that hold free text; each is analysed (language, sentiment, "
            "emotion, topic, personal data). Comma-separated in the environment."
        ),
    )
    text_model: Literal["cascade", "use", "e5"] = Field(
        default="e5",
        description=(
            "Sentiment model: `e5` (every text through the full stage: n-grams, USE and "
            "multilingual-e5), `cascade` (the fast n-gram and USE stage, and e5 only for the "
            "texts it is unsure of) or `use` (the fast stage alone). Accuracy and speed of "
            "each: docs/text.md."
        ),
    )
    text_cascade_threshold: float = Field(
        default=0.6,
        gt=0,
        le=1,
        description=(
            "The cascade sends a text to e5 when the fast stage's top probability does not "
            "exceed this; higher is more accurate and slower (docs/text.md has both)."
        ),
    )
    text_enrich_interval_s: float = Field(
        default=30.0,
        gt=0,
        description="Seconds between the worker's runs of text enrichment (new texts only).",
    )
    case_window_days: int = Field(
        default=7,
        ge=1,
        le=90,
        description=(
            "A contact within this many days of a case's last activity joins that case (the "
            "customer is back about the same matter); a case the company answered and the "
            "customer left quiet this long counts as resolved."
        ),
    )
    case_sla_hours: dict[str, tuple[float, float]] = Field(
        default_factory=lambda: {
            "urgent": (1.0, 24.0),
            "high": (4.0, 48.0),
            "normal": (24.0, 120.0),
            "low": (72.0, 240.0),
        },
        description=(
            "Service levels per case priority as JSON: hours to the first response and to the "
            'resolution, e.g. `{"urgent": [1, 24], "normal": [24, 120]}` (priorities left out '
            "keep their defaults: urgent 1/24, high 4/48, normal 24/120, low 72/240)."
        ),
    )
    case_known_fields: dict[str, list[str]] = Field(
        default_factory=dict,
        description=(
            "Where the profile holds each field a customer can be asked for, as JSON over the "
            'defaults in docs/cases.md, e.g. `{"contract_number": ["trait:contract"]}`; '
            "`identifier:KIND` or `trait:KEY`. A request for a field the profile held counts "
            "as asking again."
        ),
    )
    smtp_host: str | None = Field(
        default=None,
        description="SMTP server for automation e-mails; without it, e-mail actions fail.",
    )
    smtp_port: int = Field(default=25, ge=1, le=65535, description="The SMTP server's port.")
    smtp_user: str | None = Field(default=None, description="SMTP user name, if it needs one.")
    smtp_password: str | None = Field(default=None, description="SMTP password, if it needs one.")
    smtp_starttls: bool = Field(
        default=False, description="Upgrade the SMTP connection with STARTTLS before sending."
    )
    smtp_from: str = Field(
        default="cxm <cxm@localhost>", description="The From address of automation e-mails."
    )
    redis_url: str | None = Field(
        default=None,
        description=(
            "Redis for the automation queue (`redis://host:6379/0`), shared by several workers; "
            "without it the queue is a SQLite file in the workspace."
        ),
    )
    automation_interval_s: float = Field(
        default=1.0,
        gt=0,
        description="Seconds between the worker's automation runs: rules over new events and "
        "texts, and due actions.",
    )
    automation_schedule_interval_s: float = Field(
        default=60.0,
        gt=0,
        description="Seconds between the worker's checks of scheduled rules and segment "
        "entries (a segment's members are counted each time).",
    )
    automation_max_attempts: int = Field(
        default=5,
        ge=1,
        le=50,
        description="Tries of an action (a webhook, an e-mail) before it goes to the dead letters.",
    )
    automation_retry_base_s: float = Field(
        default=30.0,
        gt=0,
        description="Wait before the first retry of a failed action; doubled each time (≤ 1 h).",
    )
    automation_lease_s: float = Field(
        default=300.0,
        gt=0,
        description="How long a worker holds an action it runs; if the worker dies, another "
        "one runs the action once this has passed (make it longer than the slowest action).",
    )
    automation_max_age_h: float = Field(
        default=24.0,
        gt=0,
        description="Events older than this (by the customer's clock) when the rules first see "
        "them trigger nothing: importing history must not e-mail customers about last year.",
    )
    cases_interval_s: float = Field(
        default=15.0,
        gt=0,
        description="Seconds between the worker's runs of the case builder (new events only).",
    )
    never_store: Annotated[tuple[str, ...], NoDecode] = Field(
        default=("password", "card_number", "cvv", "cvc"),
        description="Fields removed from every event before it is stored (comma-separated): a "
        "dotted path from the event (context.ip, properties.card.number) or a bare key, removed "
        "wherever it appears in properties, traits and context. What was removed is listed in "
        "the event's context.cxm_removed.",
    )
    retention: Annotated[dict[str, int], NoDecode] = Field(
        default_factory=dict,
        description="How long personal data is kept, in days per kind (comma-separated "
        "kind=days; a kind not named is kept): customers (not seen and no open case: erased "
        "everywhere), events (the raw log and its texts; consent events stay), survey_comments "
        "(free text of answers; scores stay), messages (automation actions and in-app "
        "messages). Applied by the worker every CXM_RETENTION_INTERVAL_S and by cxm privacy "
        "retention.",
    )
    retention_interval_s: float = Field(
        default=86400.0,
        gt=0,
        description="Seconds between the worker's runs of the retention policy (CXM_RETENTION).",
    )
    insights_interval_s: float = Field(
        default=3600.0,
        gt=0,
        description="Seconds between the worker's insight runs: churn scores for every customer "
        "(retraining the model when it is older than CXM_CHURN_RETRAIN_DAYS), the drivers of "
        "churn and NPS, and the anomaly watch.",
    )
    churn_retrain_days: float = Field(
        default=7.0,
        gt=0,
        description="Retrain the churn model when its latest version is older than this.",
    )
    churn_horizon_days: int = Field(
        default=60,
        ge=7,
        le=365,
        description="Days after a cutoff in which a cancellation counts as churn (the model's "
        "horizon: a risk is the chance of leaving within this many days).",
    )
    churn_medium_lift: float = Field(
        default=2.0,
        gt=1,
        description="A customer's churn band (trait churn_risk) is medium from this many times "
        "the base rate (the share who left in the model's latest period).",
    )
    churn_high_lift: float = Field(
        default=4.0,
        gt=1,
        description="A customer's churn band (trait churn_risk) is high from this many times "
        "the base rate.",
    )
    alert_alpha: float = Field(
        default=0.01,
        gt=0,
        lt=0.5,
        description="The anomaly watch's false-alarm rate: the chance that a normal day raises "
        "any alert at all, across every series watched (family-wise).",
    )

    @property
    def identity_policy(self) -> IdentityPolicy:
        from cxm.identity.policy import IdentityPolicy

        return IdentityPolicy.from_settings(self.identity_limits)

    @field_validator("text_fields", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        value = _split(value)
        if isinstance(value, list | tuple) and not value:
            raise ValueError("name at least one property that holds text")
        return value

    @field_validator("never_store", mode="before")
    @classmethod
    def _never_store(cls, value: object) -> object:
        value = _split(value)  # empty is allowed: store everything that passes validation
        if isinstance(value, list | tuple) and any(
            not isinstance(v, str) or not re.fullmatch(r"[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*", v)
            for v in value
        ):
            raise ValueError("name keys or dotted paths, e.g. card_number,context.ip")
        return value

    @field_validator("retention", mode="before")
    @classmethod
    def _retention(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        policy: dict[str, int] = {}
        parts: tuple[str, ...] = tuple(p.strip() for p in value.split(",") if p.strip())
        for part in parts:
            kind, _, days = part.partition("=")
            kind = kind.strip()
            if kind not in RETENTION_KINDS:
                raise ValueError(
                    f"unknown kind {kind!r} in CXM_RETENTION; choose from "
                    + ", ".join(RETENTION_KINDS)
                )
            if not days.strip().isdigit() or not 1 <= int(days) <= 36500:
                raise ValueError(f"CXM_RETENTION {kind}={days!r}: give whole days, 1 to 36500")
            policy[kind] = int(days)
        return policy

    @field_validator("default_region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        region = value.strip().upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(
                f"CXM_DEFAULT_REGION {value!r} is not a two-letter country code such as PL or RU"
            )
        return region

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.workspace / 'cxm.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")


def settings_markdown() -> str:
    """The settings as a Markdown table (docs/configuration.md embeds it; a test keeps it true)."""
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    for name, info in Settings.model_fields.items():
        default = info.get_default(call_default_factory=True)
        shown = "unset" if default is None else f"`{default}`"
        lines.append(f"| `CXM_{name.upper()}` | {shown} | {info.description} |")
    return "\n".join(lines) + "\n"


def _split(value: object) -> object:
    """A comma-separated setting as a tuple of its parts."""
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return value
