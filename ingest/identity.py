"""Record identity: the keyed hash that makes ingesting the same file twice add nothing.

A record with a source record id is identified by (layer, agency, record id). One without is
identified by its sealed content plus its ordinal among identical rows of the same file, so two
genuinely identical reports (police.uk often has several at one snapped point in one month) both
count, and the same file ingested again matches them one for one.

The identity is 128 bits (``key_hi``, ``key_lo``): two hashes under independent keys derived from
the pseudonym key. Text is hashed with the keyed hash of :mod:`ingest.keyed_hash` (SipHash-2-4,
then a fixed finaliser), so a record id cannot be confirmed by hashing guesses without the key;
numbers with a keyed SplitMix64 finaliser. What is hashed for each column, and how the column
hashes combine, is fixed: stores hold the identities, and ``tests/unit/test_identity_vectors.py``
pins them.
Everything is vectorised: a few hashes per distinct value, not per row.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ingest.keyed_hash import hash_text
from ingest.pseudonyms import Pseudonymiser, fold_name
from ingest.seal import map_distinct_text

U64 = npt.NDArray[np.uint64]

_ID_COLUMNS = ("layer", "_agency", "_record_id")
_CONTENT_COLUMNS = (
    "layer",
    "category",
    "_agency",
    "sharing",
    "severity",
    "person",
    "occurred_utc",
    "month",
    "cell",
)
_MOSTLY_DISTINCT = ("_record_id",)
_DATE_COLUMNS = ("month",)  # calendar dates, hashed as their ISO text
_NULL = np.uint64(0x9E3779B97F4A7C15)  # stands for a missing number


class Identities:
    """Assigns ``key_hi``, ``key_lo`` and ``record_key`` to the sealed records of one file."""

    def __init__(self, pseudonymiser: Pseudonymiser, *, space: str | None = None) -> None:
        """``space``: the uploader whose records these are, when duplicates are to be found
        among that uploader's records only (a partner's uploads: a file of guesses must not
        learn which records others hold); None: among all (the operator's and the trusted
        roles' files)."""
        self._keys = {
            half: (
                pseudonymiser.hash_key(f"identity-{half}"),
                np.uint64(pseudonymiser.int_key(f"identity-{half}")),
            )
            for half in ("hi", "lo")
        }
        self._seen: dict[int, int] = {}  # content hash -> identical rows seen so far in this file
        self._space = np.uint64(0 if space is None else pseudonymiser.int_key(f"uploader:{space}"))

    def assign(self, records: pd.DataFrame) -> pd.DataFrame:
        """Return ``records`` with the identity columns set (in place of the ``_`` helpers)."""
        out = records.copy()
        out["_agency"] = map_distinct_text(out["agency"], fold_name)
        has_id = out["_has_id"].to_numpy(dtype=bool)
        keys = list(self._keys.values())
        halves = {half: np.empty(len(out), dtype=np.uint64) for half in self._keys}
        for mask, cols in ((has_id, _ID_COLUMNS), (~has_id, _CONTENT_COLUMNS)):
            if mask.any():
                hashes = _row_hashes(out.loc[mask, list(cols)], keys)
                for h, row_hash in zip(halves.values(), hashes, strict=True):
                    h[mask] = row_hash
        ordinal = np.zeros(len(out), dtype=np.uint64)
        if (~has_id).any():
            ordinal[~has_id] = self._ordinals(halves["hi"][~has_id])
        for half, (_, int_key) in self._keys.items():
            mixed = halves[half] ^ _mix(ordinal, int_key) ^ has_id.astype(np.uint64) ^ self._space
            key = _mix(mixed, int_key)
            out[f"key_{half}"] = key.view(np.int64)
        # Uniform and unpredictable without the key, yet the same for the same record everywhere.
        out["record_key"] = (out["key_hi"].to_numpy().view(np.uint64) >> np.uint64(56)).astype(
            np.int16
        )
        return out.drop(columns=["_agency", "_has_id", "_record_id"])

    def _ordinals(self, hashes: U64) -> U64:
        """Return each row's ordinal among identical rows seen so far in this file."""
        within = pd.Series(hashes).groupby(hashes).cumcount().to_numpy()
        uniq, counts = np.unique(hashes, return_counts=True)
        before = np.fromiter((self._seen.get(h, 0) for h in uniq.tolist()), np.int64, uniq.size)
        self._seen.update(zip(uniq.tolist(), (before + counts).tolist(), strict=True))
        return (within + before[np.searchsorted(uniq, hashes)]).astype(np.uint64)


def _mix(x: U64, key: np.uint64) -> U64:
    """Keyed SplitMix64 finaliser: a bijection of 64-bit values for each key."""
    with np.errstate(over="ignore"):
        z = (x ^ key) + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def _row_hashes(frame: pd.DataFrame, keys: list[tuple[str, np.uint64]]) -> list[U64]:
    """Hash each row of ``frame`` under each key; every column is prepared once for all keys."""
    hashes = [np.full(len(frame), np.uint64(len(frame.columns)), dtype=np.uint64) for _ in keys]
    for i, column in enumerate(_column_hashes(frame, keys)):
        for k, (_, int_key) in enumerate(keys):
            hashes[k] = _mix(hashes[k] ^ column[k], int_key + np.uint64(i))
    return hashes


class _Distinct(NamedTuple):
    codes: npt.NDArray[np.intp]  # each row's distinct value
    texts: pa.Array  # the text hashed for each distinct value


def _column_hashes(frame: pd.DataFrame, keys: list[tuple[str, np.uint64]]) -> Iterator[list[U64]]:
    """Yield each column's hashes of its values under each key (text or int keys, by column).

    Text columns are hashed by their distinct values, those of every column in one call (a few
    dozen texts: one call costs numpy's overhead once).
    """
    distinct = [_distinct_text(frame[col]) for col in frame.columns]
    texts = [d.texts for d in distinct if d is not None]
    tables = iter(_hash_parts(texts, [text_key for text_key, _ in keys]))
    for col, d in zip(frame.columns, distinct, strict=True):
        yield _value_hashes(frame[col], keys) if d is None else [t[d.codes] for t in next(tables)]


def _distinct_text(values: pd.Series) -> _Distinct | None:
    """The distinct values of a text or date column, as text; None for other columns."""
    if values.name in _DATE_COLUMNS and values.dtype.kind == "M":
        render = _dates_as_text  # dates are hashed as their ISO text
    elif _is_number(values) or values.name in _MOSTLY_DISTINCT:
        return None
    else:
        render = _as_text
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    return _Distinct(codes, render(uniques))


def _is_number(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values) or pd.api.types.is_datetime64_any_dtype(values)


def _as_text(uniques: pd.Index) -> pa.Array:
    """The text that stands for each value: ``astype(str)``'s, and ``"nan"`` for a missing one.

    ``astype(str)`` makes every missing value NaN; its text has always been ``str(nan)``.
    """
    rendered = pd.Series(uniques).astype(str)
    return pc.fill_null(pa.array(rendered.array, type=pa.large_string(), from_pandas=True), "nan")


def _dates_as_text(uniques: pd.Index) -> pa.Array:
    """The ISO text of each date (``datetime.date``'s ``str``); ``"nan"`` for a missing one.

    (Dates were first held as ``datetime.date``, and hashed as their text.)
    """
    dates = pd.Series(uniques).dt.date.astype(object).where(pd.notna(uniques), None)
    return _as_text(pd.Index(dates))


def _hash_parts(parts: list[pa.Array], text_keys: list[str]) -> list[list[U64]]:
    """Hash several arrays of texts in one call; return each part's hashes under each key."""
    if not parts:
        return []
    hashes = hash_text(pa.concat_arrays(parts), text_keys)
    bounds = np.cumsum([len(part) for part in parts])[:-1]
    per_key = [np.split(h, bounds) for h in hashes]
    return [list(part) for part in zip(*per_key, strict=True)]


def _value_hashes(values: pd.Series, keys: list[tuple[str, np.uint64]]) -> list[U64]:
    """Hash each value of a number, time or record-id column under each key."""
    if values.name in _MOSTLY_DISTINCT:
        # nearly every value differs (finding the distinct ones would cost more): hash them all,
        # straight from the Arrow strings
        strings = pa.array(values.array, type=pa.large_string())
        return hash_text(strings, [text_key for text_key, _ in keys])
    missing = values.isna().to_numpy()
    raw = values.to_numpy(
        dtype="datetime64[us]" if values.dtype.kind == "M" else np.int64,
        na_value=0 if values.dtype.kind != "M" else np.datetime64("NaT"),
    )
    ints = raw.view(np.int64).view(np.uint64).copy()
    ints[missing] = _NULL
    return [_mix(ints, int_key) for _, int_key in keys]
