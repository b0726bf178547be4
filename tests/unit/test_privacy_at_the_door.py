"""Pseudonyms and the key: references become keyed codes that cannot be turned back."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from geo.errors import ConfigError
from ingest.pseudonyms import Pseudonymiser, load_key


def test_pseudonyms_cannot_be_recomputed_without_the_key() -> None:
    import pandas as pd

    refs = pd.Series(["AB-17", "ab-17 ", "CD-04"])
    ours = Pseudonymiser(b"k" * 32).people(refs)
    theirs = Pseudonymiser(b"x" * 32).people(refs)
    assert ours[0] == ours[1] != ours[2]
    assert set(ours).isdisjoint(set(theirs))


def test_key_file_is_created_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "conf" / "pseudonym.key"
    key = load_key(env_key=None, key_file=path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_key(env_key=None, key_file=path) == key
    os.chmod(path, 0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        load_key(env_key=None, key_file=path)


def test_environment_key_must_be_hex() -> None:
    with pytest.raises(ConfigError, match="64 hexadecimal"):
        load_key(env_key="not-a-key", key_file=Path("/nonexistent"))


def test_one_woman_written_three_ways_is_one_person() -> None:
    import pandas as pd

    people = Pseudonymiser(b"k" * 32).people(
        pd.Series(["AB-17", "AB17", "A.B. 17", "ab 17", "AB18"])
    )
    assert people[:4].nunique() == 1
    assert people[4] != people[0]


def test_a_reference_without_a_letter_or_digit_names_nobody() -> None:
    import pandas as pd

    people = Pseudonymiser(b"k" * 32).people(pd.Series(["-", " ./ ", "W-1"]))
    assert people[:2].isna().all()
    assert people[2] > 0


@hypothesis_settings(max_examples=60, deadline=None)
@given(
    refs=st.lists(
        st.text(min_size=1, max_size=12).filter(lambda r: any(c.isalnum() for c in r)),
        min_size=1,
        max_size=20,
    )
)
def test_pseudonyms_are_stable_and_never_the_reference(refs: list[str]) -> None:
    import pandas as pd

    p = Pseudonymiser(b"s" * 32)
    first = p.people(pd.Series(refs))
    assert first.equals(p.people(pd.Series(refs)))
    assert first.notna().all()
    assert (first > 0).all()
    assert not set(map(str, first)) & set(refs)


def test_a_pseudonym_is_the_full_keyed_hash_whatever_else_is_in_the_batch() -> None:
    import pandas as pd

    p = Pseudonymiser(b"s" * 32)
    alone = p.people(pd.Series(["AB12"]))[0]
    # beside a missing reference: once turned to floating point and rounded to 53 bits, so
    # two people could share a pseudonym and the same person got two
    beside_missing = p.people(pd.Series(["AB12", "", None]))
    assert beside_missing[0] == alone
    assert beside_missing[1:].isna().all()
    assert beside_missing.dtype == "Int64"
