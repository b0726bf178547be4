"""Record ids hashed off the GIL give exactly pandas' keyed hashes: identities do not change."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest.siphash import hash_strings

KEYS = ["0123456789abcdef", "k3Y/with+base64="]


def _pandas(values: list[str], key: str) -> np.ndarray:
    return pd.util.hash_array(np.array(values, dtype=object), hash_key=key, categorize=False)


@given(st.lists(st.text(max_size=40), max_size=60))
def test_hashes_equal_pandas_hash_array_for_any_text(values: list[str]) -> None:
    for mine, key in zip(hash_strings(pa.array(values, pa.string()), KEYS), KEYS, strict=True):
        assert mine.tolist() == _pandas(values, key).tolist()


def test_every_length_around_the_block_size_and_sliced_or_chunked_input() -> None:
    values = ["x" * n for n in range(30)] + ["é" * 9, "£", "INC-000001", "INC-000002"]
    chunked = pa.chunked_array([pa.array(values[:10]), pa.array(values[10:])])
    sliced = pa.array(["skip", *values, "skip"]).slice(1, len(values))
    for strings in (pa.array(values), chunked, sliced, pa.array(values, pa.large_string())):
        (mine,) = hash_strings(strings, KEYS[:1])
        assert mine.tolist() == _pandas(values, KEYS[0]).tolist()


def test_more_strings_than_are_hashed_together_keep_their_places() -> None:
    """Many rows of mixed lengths, interleaved, go through the rounds in several groups."""
    rng = np.random.default_rng(7)
    values = [f"REF-{i}" + "z" * int(rng.integers(0, 20)) for i in range(3 * 8192 + 11)]
    for mine, key in zip(hash_strings(pa.array(values), KEYS), KEYS, strict=True):
        assert np.array_equal(mine, _pandas(values, key))


def test_missing_strings_and_bad_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="missing"):
        hash_strings(pa.array(["a", None]), KEYS)
    with pytest.raises(ValueError, match="16 bytes"):
        hash_strings(pa.array(["a"]), ["short"])
