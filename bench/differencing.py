"""Differencing attacks on the demo data, per role: the figures in the README's privacy section.

    python -m bench.differencing [--store PATH]   # default: a fresh demo store

For each role and attack, prints how many cells had a small true difference (1..k-1) and how
often subtracting the two published views recovered it exactly; the same attacks on the gate
without perturbation (suppression and roll-up only) are printed beside them as the baseline.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from bench import RESULTS
from geo.aggregate import CubeFilter
from geo.attacks import AttackResult, difference_attack, parent_child_attack
from geo.nights import parse_hour_range
from geo.privacy import RolePolicy
from store import Store, open_store
from streetsafe.policies import load_policies
from streetsafe.views import published_view


def _exact(policy: RolePolicy) -> RolePolicy:
    return replace(policy, perturb=False, round_to=1, min_shown=0)


def _views(store: Store, policy: RolePolicy, f: CubeFilter, res: int, *, perturbed: bool) -> Any:
    p = policy if perturbed else _exact(policy)
    return published_view(store, p, f, res=res).cells


def _pairs(store: Store, policy: RolePolicy) -> dict[str, list[tuple[CubeFilter, CubeFilter]]]:
    """Pairs of filters an attacker would subtract, grouped by the kind of difference."""
    base = CubeFilter(layers=policy.layers)
    last = date.fromisoformat(
        str(store.query("SELECT max(night) AS d FROM records")["d"].iloc[0])[:10]
    )
    hours = [
        (
            replace(base, hours=parse_hour_range(f"{s}-{e}")),
            replace(base, hours=parse_hour_range(f"{s}-{e - 1}")),
        )
        for s in (20, 21, 22, 23)
        for e in (2, 3, 4, 5)
    ]
    night = replace(base, hours=parse_hour_range("22-04"))
    weekdays = [
        (night, replace(night, weekdays=tuple(x for x in range(7) if x != d))) for d in range(7)
    ]
    dates = []
    for length in (30, 90):
        for end in range(0, 120, 15):
            hi = last - timedelta(days=end)
            f = replace(base, date_from=hi - timedelta(days=length), date_to=hi)
            dates.append(
                (
                    f,
                    replace(
                        f,
                        date_from=hi - timedelta(days=length - 1),
                        date_to=hi + timedelta(days=1),
                    ),
                )
            )
    return {
        "one hour more or less": hours,
        "one weekday less": weekdays,
        "dates shifted by a day": dates,
    }


def attacks(store: Store, policy: RolePolicy, *, perturbed: bool = True) -> list[AttackResult]:
    """Run every attack for one role; ``perturbed=False`` attacks the gate without noise."""
    res = policy.finest_res
    out = []
    for name, pairs in _pairs(store, policy).items():
        targets = recovered = 0
        for f1, f2 in pairs:
            pub = (
                _views(store, policy, f1, res, perturbed=perturbed),
                _views(store, policy, f2, res, perturbed=perturbed),
            )
            ex = (
                _views(store, policy, f1, res, perturbed=False),
                _views(store, policy, f2, res, perturbed=False),
            )
            r = difference_attack(name, pub, ex, k=policy.k)
            targets, recovered = targets + r.targets, recovered + r.recovered
        out.append(AttackResult(name, targets, recovered))
    targets = recovered = 0
    for hours in ("22-04", "18-06", "00-24"):
        f = CubeFilter(layers=policy.layers, hours=parse_hour_range(hours))
        for fine in (res, res - 1):
            pub = (
                _views(store, policy, f, fine - 1, perturbed=perturbed),
                _views(store, policy, f, fine, perturbed=perturbed),
            )
            ex = (
                _views(store, policy, f, fine - 1, perturbed=False),
                _views(store, policy, f, fine, perturbed=False),
            )
            r = parent_child_attack("parent vs its children", pub, ex, k=policy.k, res=fine)
            targets, recovered = targets + r.targets, recovered + r.recovered
    out.append(AttackResult("parent vs its children", targets, recovered))
    return out


def run(store_url: str | None) -> dict[str, Any]:
    """Run the attacks for every role and print the table."""
    policies = load_policies()
    with tempfile.TemporaryDirectory() as tmp:
        url = store_url or _demo_store(Path(tmp))
        with open_store(url, storage_res=10) as store:
            results: dict[str, Any] = {}
            print(
                f"{'role':17s} {'attack':36s} {'small diffs':>11s} {'recovered':>10s} "
                f"{'rate':>6s} {'no-noise rate':>14s}"
            )
            for role, policy in policies.items():
                noisy = attacks(store, policy)
                plain = attacks(store, policy, perturbed=False)
                for a, b in zip(noisy, plain, strict=True):
                    print(
                        f"{role:17s} {a.name:36s} {a.targets:11d} {a.recovered:10d} "
                        f"{a.rate:6.1%} {b.rate:14.1%}"
                    )
                    results.setdefault(role, {})[a.name] = {
                        "targets": a.targets,
                        "recovered": a.recovered,
                        "rate": round(a.rate, 4),
                        "rate_without_perturbation": round(b.rate, 4),
                    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "differencing.json").write_text(json.dumps(results, indent=2) + "\n")
    return results


def _demo_store(tmp: Path) -> str:
    import os
    import subprocess
    import sys

    url = str(tmp / "demo.duckdb")
    env = {**os.environ, "STREETSAFE_PSEUDONYM_KEY": "ab" * 32}
    subprocess.run(
        [sys.executable, "-m", "streetsafe.cli", "demo", "--store", url, "--end", "2026-10-31"],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    return url


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default=None)
    run(parser.parse_args().store)


if __name__ == "__main__":
    main()
