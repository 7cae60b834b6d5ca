"""How well identity resolution recovers the demo company's ground truth.

Builds the demo company (or reads an existing demo workspace) and compares the profiles cxm
formed with who is really who:

- ``identity.linkable_one_profile``: share of customers whose identifiers the deterministic
  rules can connect that ended up in exactly one profile (want 1.0);
- ``identity.unlinkable_split``: share of the other customers (no shared identifier across
  channels, left for probabilistic matching) that are still split, as expected today;
- ``identity.overmerged_customers``: customers whose profile also holds another customer's
  identifiers (want 0; family phones are the known cause);
- ``identity.projector_events_per_s``: events per second of a full rebuild from the log.

    .venv/bin/python bench/identity.py                     # 5,000 customers, a year
    .venv/bin/python bench/identity.py --workspace cxm-data # an existing demo workspace
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import orjson
from sqlalchemy import select

import cxm
from cxm.demo import build_demo, demo_is_built
from cxm.identity.tables import identifiers
from cxm.profiles import rebuild_profiles


def identifiers_of(truth: dict) -> list[tuple[str, str]]:
    found = [("user_id", truth["user_id"])] if truth.get("user_id") else []
    found += [("email", e) for e in truth.get("emails", [])]
    found += [("phone", p) for p in truth.get("phones_e164", [])]
    found += [("anonymous_id", a) for a in truth.get("anonymous_ids", [])]
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workspace", type=Path, help="an existing demo workspace")
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--days", type=int, default=365)
    args = parser.parse_args()

    path = args.workspace or Path(tempfile.mkdtemp(prefix="cxm-bench-identity-"))
    ws = cxm.open(path)
    if not demo_is_built(ws):
        ws.initialise()
        result = build_demo(ws, customers=args.customers, days=args.days)
        print(f"built the demo: {result.events} events in {result.seconds:.0f} s")
    truth = orjson.loads((path / "demo" / "ground_truth.json").read_bytes())

    started = time.perf_counter()
    replay = rebuild_profiles(ws.engine, region=ws.settings.default_region, chunk_events=20_000)
    seconds = time.perf_counter() - started

    owner: dict[tuple[str, str], str] = {}
    with ws.session() as session:
        for kind, value, profile_id in session.execute(
            select(identifiers.c.kind, identifiers.c.value, identifiers.c.profile_id)
        ):
            owner[(kind, value)] = profile_id

    profiles_of: dict[str, set[str]] = {}
    customers_in: dict[str, set[str]] = defaultdict(set)
    for key, person in truth["customers"].items():
        held = {owner[i] for i in identifiers_of(person) if i in owner}
        profiles_of[key] = held
        for profile_id in held:
            customers_in[profile_id].add(key)

    linkable = [k for k, ok in truth["linkable_by_rules"].items() if ok]
    unlinkable = [k for k, ok in truth["linkable_by_rules"].items() if not ok]
    one = sum(1 for k in linkable if len(profiles_of[k]) == 1)
    split = sum(1 for k in unlinkable if len(profiles_of[k]) > 1)
    overmerged = {
        k for k, held in profiles_of.items() if any(len(customers_in[p]) > 1 for p in held)
    }
    family = {k for a, b, _ in truth["shared_phones"] for k in (a, b)}

    print(f"customers: {len(truth['customers'])} ({len(linkable)} linkable by the rules)")
    print(f"linkable customers in exactly one profile: {one}/{len(linkable)}")
    print(f"unlinkable customers still split: {split}/{len(unlinkable)}")
    shared = len(overmerged & family)
    print(f"over-merged customers: {len(overmerged)} ({shared} share a family phone)")
    print(f"full rebuild: {replay.events} events in {seconds:.1f} s")
    print(f"BENCH identity.linkable_one_profile={one / max(len(linkable), 1):.4f}")
    print(f"BENCH identity.unlinkable_split={split / max(len(unlinkable), 1):.4f}")
    print(f"BENCH identity.overmerged_customers={len(overmerged)}")
    print(f"BENCH identity.overmerged_family_phone={len(overmerged & family)}")
    print(f"BENCH identity.projector_events_per_s={replay.events / seconds:.0f}")
    ws.close()


if __name__ == "__main__":
    main()
