"""Benchmark: automation on incoming events.

    .venv/bin/python bench/automation.py [--customers 2000] [--events 20000] [--live 40]

1. ``automation.rule_evals_per_s``: 50 active rules (event and score triggers with property
   conditions, trait conditions, frequency caps, consent); ``--events`` events placed on
   profiles and new to the rules; the evaluation (every event against every rule, and the
   firings with their jobs for the ones that match) timed as the worker runs it. One rule
   evaluation is one event checked against one rule. ``automation.events_per_s`` is the same
   run per event, ``automation.firings_per_s`` per firing.
2. ``automation.trigger_to_webhook_p95_s``: a real ``cxm serve`` (API and worker, default
   settings) and an HTTP receiver on this machine; ``--live`` events sent one at a time
   through the tracking API (``/v1/track``), each triggering a webhook rule; the time from the
   tracking call's answer to the webhook's arrival at the receiver.
3. ``automation.lost_actions``: of the live part, actions that never arrived (must be 0).

Everything runs on this machine (SQLite workspace in a temporary folder).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import orjson

from cxm.automation import do_evaluate_rules, do_save_rule
from cxm.config import Settings
from cxm.ingest import do_create_source, do_ingest_events
from cxm.workspace import Workspace

EVENT_NAMES = [f"Event {i:02d}" for i in range(60)]


def say(*parts: object) -> None:
    print(*parts, flush=True)  # noqa: T201


def rules(count: int) -> list[dict[str, Any]]:
    out = []
    for i in range(count):
        if i % 5 == 4:
            trigger: dict[str, Any] = {"score": {"kind": "nps", "below": 3 + i % 5}}
        else:
            trigger = {"event": EVENT_NAMES[i % 40], "where": {"tier": f"t{i % 3}"}}
        out.append({
            "name": f"bench-rule-{i:02d}", "trigger": trigger,
            "conditions": {"traits": {"plan": ["fibre", "mobile", "tv"][i % 3]}},
            "actions": [{"nudge": {"message": "Hello {{ first_name }}"}}],
            "limits": {"per_customer": {"count": 3, "days": 7}},
        })  # fmt: skip
    return out


def evaluation(ws: Workspace, customers: int, count: int, n_rules: int) -> dict[str, float]:
    rng = random.Random(3)
    with ws.session() as s:
        source, _ = do_create_source(s, actor="bench", name="bench", channel="web")
        for rule in rules(n_rules):
            do_save_rule(session=s, actor="bench", data=rule)
    now = datetime.now(UTC)
    batch: list[tuple[str, dict[str, Any]]] = []
    for c in range(customers):
        batch.append((f"id{c}", {"type": "identify", "userId": f"u{c}",
                                 "timestamp": (now - timedelta(days=1)).isoformat(),
                                 "traits": {"plan": rng.choice(["fibre", "mobile", "tv"]),
                                            "firstName": f"Name{c}"}}))  # fmt: skip
    for e in range(count):
        at = (now - timedelta(seconds=count - e)).isoformat()
        if rng.random() < 0.1:
            event = {
                "type": "track",
                "userId": f"u{rng.randrange(customers)}",
                "event": "Survey Answered",
                "timestamp": at,
                "properties": {"kind": "nps", "score": rng.randint(0, 10)},
            }
        else:
            event = {"type": "track", "userId": f"u{rng.randrange(customers)}",
                     "event": rng.choice(EVENT_NAMES), "timestamp": at,
                     "properties": {"tier": rng.choice(["t0", "t1", "t2", "t3"])}}  # fmt: skip
        batch.append((f"e{e}", event))
    do_ingest_events(ws.engine, source=source, events=batch)
    ws.catch_up()
    say(f"{customers} customers, {count} events placed on profiles; {n_rules} rules active")
    start = time.perf_counter()
    report = do_evaluate_rules(session=ws.session, max_age=timedelta(days=2))
    seconds = time.perf_counter() - start
    evaluated = report.events + customers  # identify events are read and skipped too
    say(f"evaluated {report.events} events against {n_rules} rules in {seconds:.2f} s: "
        f"{report.fired} fired, {report.suppressed} suppressed")  # fmt: skip
    return {
        "rule_evals_per_s": report.events * n_rules / seconds,
        "events_per_s": evaluated / seconds,
        "firings_per_s": (report.fired + report.suppressed) / seconds,
    }


class Receiver:
    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = orjson.loads(self.rfile.read(int(self.headers["content-length"])))
                props = (body.get("event") or {}).get("properties") or {}
                receiver.arrived.setdefault(str(props.get("bench_id")), time.monotonic())
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"


def live(path: Path, sends: int) -> dict[str, float]:
    receiver = Receiver()
    with Workspace.open(settings=Settings(workspace=path)) as ws:
        ws.initialise()
        with ws.session() as s:
            _, key = do_create_source(s, actor="bench", name="shop", channel="web")
            do_save_rule(session=s, actor="bench", data={
                "name": "bench-webhook", "trigger": {"event": "Order Placed"},
                "actions": [{"webhook": {"url": receiver.url}}]})  # fmt: skip
    sock = __import__("socket").socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    env = {**os.environ, "CXM_WORKSPACE": str(path)}
    command = [sys.executable, "-m", "cxm", "serve", "--port", str(port)]
    server = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    sent: dict[str, float] = {}
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(url + "/api/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        time.sleep(3)  # let the worker settle in
        with httpx.Client(auth=(key, ""), timeout=10) as client:
            for i in range(sends):
                event = {"userId": f"live-{i}", "event": "Order Placed",
                         "properties": {"bench_id": str(i)}}  # fmt: skip
                response = client.post(url + "/v1/track", json=event)
                response.raise_for_status()
                sent[str(i)] = time.monotonic()
                time.sleep(0.5)
        deadline = time.monotonic() + 30
        while len(receiver.arrived) < sends and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        server.terminate()
        server.wait(timeout=30)
        receiver.server.shutdown()
    delays = sorted(receiver.arrived[i] - sent[i] for i in sent if i in receiver.arrived)
    lost = sends - len(delays)
    nan = float("nan")
    p95 = delays[min(len(delays) - 1, round(0.95 * len(delays)) - 1)] if delays else nan
    median = statistics.median(delays) if delays else nan
    say(f"live: {len(delays)} of {sends} webhooks arrived; median {median:.2f} s, p95 {p95:.2f} s")
    return {"trigger_to_webhook_p95_s": p95, "lost_actions": float(lost)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--rules", type=int, default=50)
    parser.add_argument("--live", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        with Workspace.open(settings=Settings(workspace=Path(folder) / "eval")) as ws:
            ws.initialise()
            figures = evaluation(ws, args.customers, args.events, args.rules)
        figures |= live(Path(folder) / "live", args.live)
    say(f"BENCH automation.rule_evals_per_s={figures['rule_evals_per_s']:.0f}")
    say(f"BENCH automation.events_per_s={figures['events_per_s']:.0f}")
    say(f"BENCH automation.firings_per_s={figures['firings_per_s']:.0f}")
    say(f"BENCH automation.trigger_to_webhook_p95_s={figures['trigger_to_webhook_p95_s']:.2f}")
    say(f"BENCH automation.lost_actions={int(figures['lost_actions'])}")


if __name__ == "__main__":
    main()
