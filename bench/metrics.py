"""Benchmark: every catalogue metric by touchpoint × month over 10M events, and the effort
index against survey answers on the demo company.

    .venv/bin/python bench/metrics.py [--events 10000000] [--customers 500000] [--skip-demo]

1. ``metrics.catalogue_10m_s``: ``run_catalogue`` (all lake metrics, by touchpoint and month)
   over a lake of 10M events in the demo map's vocabulary (bench/metrics_data.py), warm (the
   median of 3 runs with the answer cache cleared), after one cold run; target ≤ 5 s.
2. On the demo company (built in a scratch workspace unless ``--workspace`` names one):
   ``metrics.effort_vs_ces_spearman`` (matter effort index against the CES answer given about
   that matter), ``metrics.customer_effort_vs_ces_spearman`` and
   ``metrics.customer_effort_vs_nps_spearman`` (per customer: the hardest matter), and
   ``metrics.broken_journey_worst_decile_share`` (the share of the broken-journey customers
   whose effort index ranks in the worst 10 %; ``..._by_total`` ranks by the total instead).

The data set is cached under ``bench/.data/`` (ignored by git) by its arguments.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import orjson  # noqa: E402

import metrics_data  # noqa: E402
from cxm.analytics import DuckDBEngine  # noqa: E402
from cxm.journeys.map import default_journey_map  # noqa: E402
from cxm.lake import Lake  # noqa: E402
from cxm.metrics.queries import CatalogueQuery  # noqa: E402
from cxm.metrics.runner import run_catalogue  # noqa: E402


def build_lake(root: Path, events: int, customers: int, seed: int) -> Lake:
    marker = f"v1 {events} {customers} {seed}"
    marker_file = root / "bench-data-set.txt"
    if marker_file.exists() and marker_file.read_text() == marker:
        return Lake(root)
    shutil.rmtree(root, ignore_errors=True)
    started = time.perf_counter()
    table, truth = metrics_data.generate(events, customers, seed)
    lake = Lake(root)
    lake.write_events(table)
    lake.compact()
    print(
        f"lake: {table.num_rows:,} events ({truth['matters']:,.0f} matters) generated and "
        f"written in {time.perf_counter() - started:.1f} s"
    )
    marker_file.write_text(marker)
    return lake


def catalogue_seconds(lake: Lake) -> tuple[float, int, int]:
    engine = DuckDBEngine(lake)
    journey = default_journey_map()
    query = CatalogueQuery(by=("touchpoint", "month"))
    started = time.perf_counter()
    frame = run_catalogue(engine, journey, query)
    cold = time.perf_counter() - started
    runs = []
    for _ in range(3):
        engine.cache = type(engine.cache)()
        started = time.perf_counter()
        frame = run_catalogue(engine, journey, query)
        runs.append(time.perf_counter() - started)
    print(f"catalogue by touchpoint × month: cold {cold:.2f} s, warm runs {runs}")
    metrics = frame["metric"].nunique()
    return statistics.median(runs), len(frame), metrics


def demo_figures(workspace: Path | None) -> dict[str, float]:
    """The effort index on the demo company, built with ``cxm demo --no-serve`` unless given."""
    import cxm
    from cxm.metrics.effort import effort_validation

    scratch = None
    if workspace is None:
        scratch = Path(tempfile.mkdtemp(prefix="cxm-bench-metrics-"))
        workspace = scratch / "ws"
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "cxm", "--workspace", str(workspace), "demo", "--no-serve"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        print(f"demo built in {time.perf_counter() - started:.0f} s")
    try:
        truth = orjson.loads((workspace / "demo" / "ground_truth.json").read_bytes())
        with cxm.open(workspace) as ws:
            started = time.perf_counter()
            report = effort_validation(ws.query_engine(), ws.journey_map())
            print(f"effort index over the demo in {time.perf_counter() - started:.2f} s")
            people = truth["customers"]
            broken = {ws.profile(people[key]["user_id"]).id for key in truth["broken_journeys"]}
            ranked = report.customer_effort
            worst = set(ranked[ranked["decile"] == 10]["customer_id"])
            worst_two = set(ranked[ranked["decile"] >= 9]["customer_id"])
            by_total = ranked.sort_values("total_effort", ascending=False)
            worst_total = set(by_total["customer_id"].head(len(ranked) // 10))
            print(report.summary())
            print(
                f"{len(broken)} broken-journey customers: {len(broken & worst)} in the worst "
                f"effort decile, {len(broken & worst_two)} in the worst two "
                f"({len(ranked)} customers with a matter)"
            )
            return {
                "metrics.effort_vs_ces_spearman": report.matter_ces,
                "metrics.customer_effort_vs_ces_spearman": report.customer_ces,
                "metrics.customer_effort_vs_nps_spearman": report.customer_nps,
                "metrics.broken_journey_worst_decile_share": len(broken & worst) / len(broken),
                "metrics.broken_journey_worst_two_deciles_share": (
                    len(broken & worst_two) / len(broken)
                ),
                "metrics.broken_journey_worst_decile_share_by_total": (
                    len(broken & worst_total) / len(broken)
                ),
            }
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--customers", type=int, default=500_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--skip-demo", action="store_true")
    parser.add_argument("--workspace", type=Path, default=None)
    args = parser.parse_args()

    lake = build_lake(BENCH_DIR / ".data" / "metrics-lake", args.events, args.customers, args.seed)
    seconds, rows, metrics = catalogue_seconds(lake)
    figures = {
        "metrics.catalogue_10m_s": seconds,
        "metrics.catalogue_rows": float(rows),
        "metrics.catalogue_metrics": float(metrics),
    }
    if not args.skip_demo:
        figures.update(demo_figures(args.workspace))
    for name, value in figures.items():
        print(f"BENCH {name}={value:.4g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
