"""Pinned record identities: a file ingested again is still recognised, whatever the code became.

Every store holds, for each record, the 128-bit identity (``key_hi``, ``key_lo``) and the
``record_key`` that ingest gave it; ingesting the same file again adds nothing only if the same
rows get the very same values. These vectors were computed with the code as it stood before
record identities stopped calling pandas' hash (``pandas.util.hash_array``), in a process of
their own, under the tests' pseudonym key (``"0f" * 32``) and fixed "now". So they protect:

* the keyed text hash of :mod:`ingest.keyed_hash` (SipHash-2-4, then the 64-bit finaliser):
  record ids, and the distinct values of every other text column;
* how each column is turned into what is hashed: text as ``astype(str)`` renders it (a missing
  value as ``"nan"``), dates as ISO text, numbers and times through the keyed finaliser, in
  the order of the identity columns;
* the ordinals that tell identical rows without a record id apart, within one file;
* the derivation of the keys from the pseudonym key, and ``record_key`` (the top byte).

A change that fails them would make every store count each record twice after its next ingest:
such a change needs a migration of the stores, not new vectors.

One such change was made on purpose, and the vectors it moved are marked "pseudonym scheme 2":
person references are now folded to their letters and digits (``AB-17`` and ``AB17`` are one
woman), so rows identified by their content whose reference holds punctuation got new
identities. Their pseudonyms could not be redone without the references, which are never
stored, so a store sealed under scheme 1 refuses new files (see ``store._base``).
"""

from __future__ import annotations

import io
from dataclasses import replace

import numpy as np
import pandas as pd

from ingest.agencies import Agencies
from ingest.csvfile import open_table
from ingest.identity import Identities
from ingest.kinds import KINDS
from ingest.pseudonyms import fold_name
from ingest.seal import SealContext, seal

LONG_ID = "INC-" + "x" * 70  # more than 64 bytes: more than eight SipHash blocks
INCIDENTS_CSV = (
    "record_id,occurred_at,latitude,longitude,place,category,severity,agency,person_ref,sharing\n"
    "INC-0001,2025-03-14 23:40,50.9112,-1.3931,,violence,high,Outreach team,AB-17,partners\n"
    "INC-ÉTÉ-0002,2025-03-15 01:15,,,Derby Road / Northumberland Road,vehicle_of_concern,"
    "medium,Équipe de NUIT,,partners\n"
    f"{LONG_ID},2025-03-16 02:05,50.9049,-1.3962,,robbery,high,Police NPT,CD-04,outreach_only\n"
    # no record id: identified by content, and the two identical rows by their ordinal too
    ",2025-03-16 02:05,50.9049,-1.3962,,robbery,high,Police NPT,CD-04,outreach_only\n"
    ",2025-03-16 02:05,50.9049,-1.3962,,robbery,high,Police NPT,CD-04,outreach_only\n"
    ",2025-03-17 22:30,50.9101,-1.3940,,violence,low,Équipe de nuit,,\n"  # sharing defaulted
)
ASB_CSV = (
    "record_id,occurred_at,latitude,longitude,place,category,agency,sharing\n"
    "ASB-0001,2025-03-12 08:30,50.9101,-1.3940,,discarded_needles,Community safety,partners\n"
    ",2025-03-13 23:05,,,Northam Road / Britannia Road,kerb_crawling,Resident report,\n"
)
POLICEUK_CSV = (
    "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,"
    "Crime type,Last outcome category,Context\n"
    "876156f1507b388768a236b10c2a235ce2053b09ff67921da73b3774989350c5,2022-02,"
    "Hampshire Constabulary,Hampshire Constabulary,-1.3931,50.9112,On or near Kent Street,"
    "E01017139,Southampton 021A,Other theft,Under investigation,\n"
    # police.uk gives anti-social behaviour no crime id: several identical rows are common
    ",2022-02,Hampshire Constabulary,Hampshire Constabulary,-1.3931,50.9112,"
    "On or near Kent Street,E01017139,Southampton 021A,Anti-social behaviour,,\n"
    ",2022-02,Hampshire Constabulary,Hampshire Constabulary,-1.3931,50.9112,"
    "On or near Kent Street,E01017139,Southampton 021A,Anti-social behaviour,,\n"
    ",2022-03,,,-1.3962,50.9049,On or near Derby Road,E01017140,Southampton 022B,"
    "Public order,,\n"
)


def _sealed(kind: str, data: str, ctx: SealContext) -> pd.DataFrame:
    """The sealed records of a file, read and sealed as ingest does."""
    frames = [
        seal(batch, KINDS[kind], ctx).records
        for batch in open_table(io.BytesIO(data.encode("utf-8"))).batches()
    ]
    return pd.concat(frames)


def _odd_values(incidents: pd.DataFrame, policeuk: pd.DataFrame) -> pd.DataFrame:
    """Sealed rows altered to hold what files rarely give: missing, empty, non-ASCII, long text."""
    native = incidents[~incidents["_has_id"]].iloc[[0] * 8].reset_index(drop=True)
    native.loc[0, "category"] = np.nan  # hashed as the text "nan", as astype(str) renders it
    native.loc[1, "category"] = ""
    native.loc[2, "category"] = "vol à l\u2019étalage ✓ " + "ü" * 40
    native.loc[3, "sharing"] = np.nan
    native.loc[4, "month"] = pd.NaT
    native.loc[5, "agency"] = ""
    native.loc[6:7, "_has_id"] = True  # with record ids: empty, and non-ASCII over 64 bytes
    native.loc[6, "_record_id"] = ""
    native.loc[7, "_record_id"] = "ü" * 40
    police = policeuk[~policeuk["_has_id"]].iloc[[0] * 2].reset_index(drop=True)
    police.loc[1, "month"] = None
    return pd.concat([native, police], ignore_index=True)


def _vectors(records: pd.DataFrame, ctx: SealContext) -> list[tuple[str, str, int]]:
    """Each row's (key_hi, key_lo) as unsigned hexadecimal, and its record_key."""
    out = Identities(ctx.pseudonymiser).assign(records)
    his = out["key_hi"].to_numpy().view(np.uint64).tolist()
    los = out["key_lo"].to_numpy().view(np.uint64).tolist()
    return [
        (f"{hi:016x}", f"{lo:016x}", int(rk))
        for hi, lo, rk in zip(his, los, out["record_key"].tolist(), strict=True)
    ]


def _all_vectors(ctx: SealContext) -> dict[str, list[tuple[str, str, int]]]:
    incidents = _sealed("incidents", INCIDENTS_CSV, ctx)
    policeuk = _sealed("policeuk", POLICEUK_CSV, ctx)
    return {
        "incidents": _vectors(incidents, ctx),
        "asb": _vectors(_sealed("asb", ASB_CSV, ctx), ctx),
        "policeuk": _vectors(policeuk, ctx),
        "odd values": _vectors(_odd_values(incidents, policeuk), ctx),
    }


# Computed by the code before this change (see the module's docstring); rows in file order.
EXPECTED: dict[str, list[tuple[str, str, int]]] = {
    "incidents": [
        ("852bbccfe95285ff", "3d1116bbf7a5fc2a", 133),
        ("f8605304e7514521", "e2a8519fda4cda38", 248),
        ("c588a173d93e9491", "45c288c0e60ded98", 197),
        ("6fdea36bfe54b2cf", "30f8e858585fadb9", 111),  # pseudonym scheme 2
        ("f3cb572c2bd2c478", "92098e162b52d534", 243),  # pseudonym scheme 2
        ("e71a17b68ff70b59", "4a20f98a10829588", 231),
    ],
    "asb": [
        ("26ce94091454287d", "d034740ae15ed5eb", 38),
        ("0a5a7c58846ab341", "e5da805ae29a9b44", 10),
    ],
    "policeuk": [
        ("0145a4cb5dda6a24", "4a989a6e46fd23fc", 1),
        ("8ea2e6f8dd8d7209", "309d0291b8064c79", 142),
        ("3177636c0c6ddf17", "bc1803036df25bb5", 49),
        ("a735f3c6efa03071", "c40c04a590c3bb55", 167),
    ],
    "odd values": [
        ("501dfa71d0e3f444", "be72ad20d8b27058", 80),  # pseudonym scheme 2
        ("d811465bc1e73a6b", "4845e912990ce7a0", 216),  # pseudonym scheme 2
        ("bec88f372b36308b", "04f7eff9c915886a", 190),  # pseudonym scheme 2
        ("64e3a434f9438bca", "f9ea3f438d23acf3", 100),  # pseudonym scheme 2
        ("bc83b81ab2579156", "64d154d767468cd5", 188),  # pseudonym scheme 2
        ("1c1ada60d7e89b41", "69dde20a2109a340", 28),  # pseudonym scheme 2
        ("8df8cf2efce4df87", "4f5d3a79c79dd6a1", 141),
        ("80308005c17b8e15", "a3778e7a34a448af", 128),
        ("8ea2e6f8dd8d7209", "309d0291b8064c79", 142),
        ("6a35ec597994ffd9", "a4b98f3047eae709", 106),
    ],
}


def test_identities_are_those_the_stores_hold(ctx: SealContext) -> None:
    # the rows name agencies the pinned vectors were made with, non-ASCII ones among them
    names = ("Outreach team", "Police NPT", "Équipe de nuit", "Community safety", "Resident report")
    agencies = Agencies({fold_name(name): name for name in names})
    assert _all_vectors(replace(ctx, agencies=agencies)) == EXPECTED


def test_identical_rows_without_record_id_count_once_each() -> None:
    """The pinned rows include identical ones: they differ only by their ordinal in the file."""
    for kind, (first, second) in (("incidents", (3, 4)), ("policeuk", (1, 2))):
        assert EXPECTED[kind][first] != EXPECTED[kind][second]
    # the unaltered police.uk row is the first of its identical rows in the file
    assert EXPECTED["odd values"][8] == EXPECTED["policeuk"][1]
