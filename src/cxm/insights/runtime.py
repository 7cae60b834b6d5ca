"""The insights a workspace keeps up to date: ``ws.insights.refresh()`` (the worker runs it every
``CXM_INSIGHTS_INTERVAL_S``; ``cxm insights refresh`` on demand).

One refresh:

1. retrains the churn model when its latest version is older than ``CXM_CHURN_RETRAIN_DAYS``
   (or there is none); a refusal (too little history, one class) keeps the earlier version and
   is reported;
2. scores every customer with the latest version (``cxm.insights.scoring``);
3. analyses the drivers of churn and NPS (``cxm.insights.drivers``) and keeps the result in
   ``models/insights/drivers.json``;
4. runs the anomaly watch over the last days and stores new alerts, which automation rules
   with an ``alert`` trigger deliver to the departments they concern.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import pandas as pd
from sqlalchemy import select

from cxm.errors import InvalidInput, NotFound
from cxm.insights.tables import churn_scores

if TYPE_CHECKING:
    from cxm.workspace import Workspace

log = logging.getLogger(__name__)
SOURCE = "insights"
WATCH_MARK = "insights-watch"
MAX_WATCH_DAYS = 62  # after a long stop, the last two months are judged, not years


@dataclass
class RefreshReport:
    trained: dict[str, Any] | None = None  # the new version's figures, when one was trained
    scored: dict[str, Any] | None = None
    drivers: dict[str, Any] | None = None  # outcome -> drivers judged
    experience: dict[str, Any] | None = None
    alerts: int = 0
    refused: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "trained": self.trained,
            "scored": self.scored,
            "drivers": self.drivers,
            "experience": self.experience,
            "alerts": self.alerts,
            "refused": self.refused,
        }


class Insights:
    """Churn scores, drivers and alerts of one workspace."""

    def __init__(self, ws: Workspace, *, now: Callable[[], datetime] | None = None) -> None:
        self.ws = ws
        self._now = now or (lambda: datetime.now(UTC))
        settings = ws.settings
        if settings.churn_medium_lift >= settings.churn_high_lift:
            raise InvalidInput(
                f"CXM_CHURN_MEDIUM_LIFT ({settings.churn_medium_lift}) must be below "
                f"CXM_CHURN_HIGH_LIFT ({settings.churn_high_lift})"
            )

    @property
    def churn_dir(self) -> Path:
        return self.ws.path / "models" / "churn"

    @property
    def drivers_path(self) -> Path:
        return self.ws.path / "models" / "insights" / "drivers.json"

    def as_of(self) -> datetime:
        """The moment customers are scored at: now, or the lake's last event when the data
        ends earlier (an import of history, the demo), so silence after it is not read as
        every customer drifting away. Identify calls only update traits (the churn bands
        this capability writes among them) and do not count as the data going on."""
        from cxm.analytics import events_table

        ev = events_table()
        last = self.ws.query_engine().execute(
            ev.filter(ev.type != "identify").aggregate(last=ev.t.max())
        )
        now = self._now()
        if last.empty or pd.isna(last["last"].iloc[0]):
            return now
        end = datetime.fromtimestamp(int(last["last"].iloc[0]) / 1e6 + 1, tz=UTC)
        return min(now, end)

    # churn -----------------------------------------------------------------------------------
    def train_churn(self) -> dict[str, Any]:
        """Train a new version (raises InvalidInput, keeping the earlier one, when it cannot)."""
        from cxm.insights.churn_data import model_versions, save_workspace_model
        from cxm.insights.churn_data import train_workspace_model as train

        result = train(self.ws.query_engine(), self.ws.journey_map(), now=self._now(),
                       horizon_days=self.ws.settings.churn_horizon_days)  # fmt: skip
        save_workspace_model(result, self.churn_dir)
        record: dict[str, Any] = model_versions(self.churn_dir)[-1]
        return record

    def churn_is_stale(self) -> bool:
        from cxm.insights.churn_data import model_versions

        versions = model_versions(self.churn_dir)
        if not versions:
            return True
        trained = (self.churn_dir / versions[-1]["file"]).stat().st_mtime
        age = self._now().timestamp() - trained
        return age > self.ws.settings.churn_retrain_days * 86_400

    def score(self) -> dict[str, Any]:
        """Score every customer with the latest model; the band trait goes out by ingest."""
        from cxm.insights.churn_data import customer_features, load_latest_model, model_versions
        from cxm.insights.scoring import record_risk_day, score_frame, store_scores

        model = load_latest_model(self.churn_dir)
        version = model_versions(self.churn_dir)[-1]
        name, base = str(version["file"]), float(version["base_rate"])
        settings = self.ws.settings
        features = customer_features(self.ws.query_engine(), self.ws.journey_map(), self.as_of())
        scores = score_frame(model, features, medium=base * settings.churn_medium_lift,
                             high=base * settings.churn_high_lift)  # fmt: skip
        with self.ws.session() as s:
            before = dict(s.execute(select(churn_scores.c.profile_id, churn_scores.c.band)).all())
            report = store_scores(s, scores, model_name=name, now=self._now())
            record_risk_day(s, scores, now=self._now())
        # The traits after the scores are committed: ingest writes through its own transaction.
        self._send_band_traits(scores, before, name)
        return {"customers": report.customers, "bands": report.bands, "model": name}

    def _send_band_traits(
        self, scores: pd.DataFrame, before: dict[str, str], model_name: str
    ) -> None:
        """An identify event with the trait ``churn_risk`` for each customer whose band moved
        since the last scoring (a customer not scored before counts as low); its message id
        names the customer, the model version and the band, so scoring twice stores it once."""
        from cxm.automation.actions import identity_of

        with self.ws.session() as s:
            events = []
            for profile_id, row in scores.iterrows():
                if before.get(str(profile_id), "low") == row.band:
                    continue
                try:
                    who = identity_of(s, str(profile_id))
                except Exception:  # noqa: BLE001 - a profile without identifiers gets no trait
                    continue
                events.append({"type": "identify",
                               "messageId": f"churn-risk:{profile_id}:{model_name}:{row.band}",
                               "timestamp": self._now().isoformat(), **who,
                               "traits": {"churn_risk": row.band}})  # fmt: skip
        if events:
            self._ingest(events)

    def _ingest(self, events: list[dict[str, Any]]) -> None:
        from cxm.ingest import do_ingest_events, source_named

        with self.ws.session() as s:
            source = source_named(s, actor="system:insights", name=SOURCE, channel="other",
                                  label="Insights")  # fmt: skip
        report = do_ingest_events(self.ws.engine, source=source,
                                  events=[("insights", e) for e in events],
                                  max_event_bytes=self.ws.settings.max_event_bytes)  # fmt: skip
        if report.rejected:  # e.g. a customer erased since the scores were computed
            log.warning("insights: %d band traits refused: %s", len(report.rejected),
                        report.rejected[0]["message"])  # fmt: skip

    # drivers ---------------------------------------------------------------------------------
    def analyse_drivers(self) -> dict[str, Any]:
        from cxm.insights.drivers import analyse_drivers, topic_texts

        with self.ws.session() as s:
            texts = topic_texts(s)
        result = analyse_drivers(self.ws.query_engine(), self.ws.journey_map(), texts=texts,
                                 horizon_days=self.ws.settings.churn_horizon_days)  # fmt: skip
        self.drivers_path.parent.mkdir(parents=True, exist_ok=True)
        self.drivers_path.write_bytes(orjson.dumps(result))
        return result

    def drivers(self) -> dict[str, Any] | None:
        """The latest driver analysis kept, or None before the first."""
        return _kept(self.drivers_path)

    # experience score ----------------------------------------------------------------------
    @property
    def experience_path(self) -> Path:
        return self.ws.path / "models" / "insights" / "experience.json"

    def score_experience(self) -> dict[str, Any]:
        """Train the experience model on the NPS answers, judge it on the latest quarter of
        them, score every customer, and keep the figures (raises InvalidInput when it cannot).
        """
        from sqlalchemy import delete, insert

        from cxm.insights.churn_data import customer_features
        from cxm.insights.experience import score_customers, train_workspace_experience
        from cxm.insights.tables import experience_scores

        engine, journey, now = self.ws.query_engine(), self.ws.journey_map(), self._now()
        trained = train_workspace_experience(engine, journey, now=now)
        features = customer_features(engine, journey, self.as_of())
        scores = score_customers(trained.model, features)
        rows = [
            {"profile_id": str(pid), "band": r.band, "p_detractor": float(r.detractor),
             "p_passive": float(r.passive), "p_promoter": float(r.promoter), "scored_at": now}
            for pid, r in scores.iterrows()
        ]  # fmt: skip
        with self.ws.session() as s:
            s.execute(delete(experience_scores))
            for start in range(0, len(rows), 1000):
                s.execute(insert(experience_scores), rows[start : start + 1000])
        e = trained.evaluation
        summary = {
            "customers": len(rows),
            "answered": int(trained.answers),
            "bands": {b: int((scores["band"] == b).sum()) for b in ("detractor", "passive",
                                                                     "promoter")},
            "estimated_nps": round(trained.model.expected_nps(features), 1) if rows else None,
            "evaluation": {
                "split_at": e.split_at.isoformat(), "train_answers": e.train_answers,
                "test_answers": e.test_answers, "accuracy": round(e.accuracy, 3),
                "macro_f1": round(e.macro_f1, 3),
                "baseline_accuracy": round(e.baseline_accuracy, 3),
                "baseline_macro_f1": round(e.baseline_macro_f1, 3),
                "estimated_nps": round(e.estimated_nps, 1), "actual_nps": round(e.actual_nps, 1),
                "nps_error": round(e.nps_error, 1),
                "baseline_nps_error": round(e.baseline_nps_error, 1),
            },
            "scored_at": now.isoformat(),
        }  # fmt: skip
        self.experience_path.parent.mkdir(parents=True, exist_ok=True)
        self.experience_path.write_bytes(orjson.dumps(summary))
        return summary

    def experience(self) -> dict[str, Any] | None:
        """The latest experience scoring's figures, or None before the first."""
        return _kept(self.experience_path)

    # all of it ---------------------------------------------------------------------------------
    def refresh(self, *, retrain: bool | None = None) -> RefreshReport:
        """Train when stale (or when ``retrain``), score, analyse drivers, watch for anomalies."""
        report = RefreshReport()
        self.ws.sync_lake()
        if retrain or (retrain is None and self.churn_is_stale()):
            try:
                report.trained = self.train_churn()
            except (InvalidInput, NotFound) as exc:
                report.refused["train"] = exc.message
        try:
            report.scored = self.score()
        except (InvalidInput, NotFound) as exc:
            report.refused["score"] = exc.message
        try:
            report.experience = self.score_experience()
        except (InvalidInput, NotFound) as exc:
            report.refused["experience"] = exc.message
        try:
            result = self.analyse_drivers()
        except (InvalidInput, NotFound) as exc:
            report.refused["drivers"] = exc.message
        else:
            report.drivers = {k: len(v["drivers"]) for k, v in result["analyses"].items()}
            report.refused.update({f"drivers.{k}": v for k, v in result["refused"].items()})
        report.alerts = self.watch()
        self.status_path.parent.mkdir(parents=True, exist_ok=True)
        status = {**report.to_dict(), "at": self._now().isoformat(timespec="seconds")}
        self.status_path.write_bytes(orjson.dumps(status))
        return report

    @property
    def status_path(self) -> Path:
        return self.ws.path / "models" / "insights" / "refresh.json"

    def last_refresh(self) -> dict[str, Any] | None:
        """What the latest refresh did and refused (and why), or None before the first."""
        return _kept(self.status_path)

    def watch(self, *, first_days: int = 7) -> int:
        """Judge every day since the last one judged (the first time, the last ``first_days``
        days with data), up to yesterday; returns the number of new alerts."""
        from cxm.insights.watch import last_day_with_data, store_alerts, watch_days
        from cxm.store.marks import read_mark, write_mark

        today = self._now().date()
        with self.ws.session() as s:
            latest = last_day_with_data(s)
            if latest is None:
                return 0
            last = min(latest, today - timedelta(days=1))
            judged = read_mark(s, WATCH_MARK)
            first = (
                date.fromordinal(judged) + timedelta(days=1)
                if judged
                else last - timedelta(days=first_days - 1)
            )
            days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
            try:
                journey = self.ws.journey_map()
            except NotFound:
                journey = None
            rows = watch_days(s, journey, days[-MAX_WATCH_DAYS:],
                              alpha=self.ws.settings.alert_alpha)  # fmt: skip
            new = store_alerts(s, rows, now=self._now())
            if days:
                write_mark(s, WATCH_MARK, days[-1].toordinal())
        return new


def _kept(path: Path) -> dict[str, Any] | None:
    """A result an insights run kept as JSON, or None before the first run."""
    if not path.exists():
        return None
    data: dict[str, Any] = orjson.loads(path.read_bytes())
    return data
