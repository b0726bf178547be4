"""Differencing attacks on published views: how often subtracting two views reveals a small count.

An attacker asks for two views that differ a little (one hour more, one weekday less, the date
range shifted by a day, a parent hexagon against its children) and subtracts them cell by cell.
Where the true difference is a small number of records (1 to k-1), recovering it exactly is a
disclosure. With exact counts and suppression alone the attacker always succeeds; cell-key
perturbation is what makes the difference unreliable.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from geo.hexes import parent_cells

_KEY = ["layer", "resolution", "cell"]


@dataclass(frozen=True)
class AttackResult:
    """Outcome of one attack over every cell both views publish."""

    name: str
    targets: int  # cells whose true difference is a small count (1..k-1)
    recovered: int  # of those, how many the attacker's difference gets exactly right

    @property
    def rate(self) -> float:
        """Share of small differences recovered exactly (0 when there was nothing to attack)."""
        return self.recovered / self.targets if self.targets else 0.0


def difference_attack(
    name: str,
    published: tuple[pd.DataFrame, pd.DataFrame],
    exact: tuple[pd.DataFrame, pd.DataFrame],
    *,
    k: int,
) -> AttackResult:
    """Subtract view 2 from view 1 where both publish a cell; score against the true counts.

    ``published`` holds the two views as the attacker sees them; ``exact`` the same cells with
    true record counts (the gate run without perturbation or rounding).
    """
    return _score(name, published, exact, k=k)


def parent_child_attack(
    name: str,
    published: tuple[pd.DataFrame, pd.DataFrame],
    exact: tuple[pd.DataFrame, pd.DataFrame],
    *,
    k: int,
    res: int,
) -> AttackResult:
    """Subtract the children published at ``res`` from their parent in a view at ``res - 1``.

    ``published`` and ``exact`` are (coarse view, fine view) pairs.
    """

    def children_sum(fine: pd.DataFrame) -> pd.DataFrame:
        own = fine[fine["resolution"] == res]
        return (
            own.assign(cell=parent_cells(own["cell"].to_numpy(), res - 1), resolution=res - 1)
            .groupby(_KEY, as_index=False)
            .agg(value=("value", "sum"))
        )

    return _score(
        name,
        (published[0], children_sum(published[1])),
        (exact[0], children_sum(exact[1])),
        k=k,
    )


def _score(
    name: str,
    published: tuple[pd.DataFrame, pd.DataFrame],
    exact: tuple[pd.DataFrame, pd.DataFrame],
    *,
    k: int,
) -> AttackResult:
    seen = published[0].merge(published[1], on=_KEY, suffixes=("_1", "_2"))
    truth = exact[0].merge(exact[1], on=_KEY, suffixes=("_1", "_2"))
    both = seen.merge(truth, on=_KEY, suffixes=("", "_true"))
    true_diff = both["value_1_true"] - both["value_2_true"]
    guess = both["value_1"] - both["value_2"]
    small = true_diff.between(1, k - 1)
    return AttackResult(name, int(small.sum()), int((small & (guess == true_diff)).sum()))
