"""Benchmarks: each prints its figures beside a baseline measured in the same run.

They run from a clone of the repository (``python -m bench``) and write their results under
``bench/results/`` (not kept in git).
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the repository
RESULTS = ROOT / "bench" / "results"
