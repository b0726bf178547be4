"""The keyed text hash of record identities (:mod:`ingest.keyed_hash`), checked three ways.

* SipHash-2-4 itself gives the reference implementation's published test vectors;
* the vectorised code equals a scalar transcription of the module's docstring on any input
  (lengths around the 8-byte block, non-ASCII text, many texts in several groups of lanes);
* the whole hash equals ``pandas.util.hash_array``, which computed the identities stores
  already hold: the one place pandas' hash appears, as a compatibility check.
"""

from __future__ import annotations

import struct

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from ingest.keyed_hash import finalise, hash_text, siphash24

# SipHash-2-4 with 64-bit output, key 00 01 .. 0f, message i = 00 01 .. (i - 1): the array
# vectors_sip64 of vectors.h in the reference implementation (https://github.com/veorq/SipHash,
# commit f26d35e964c6290ffe23d9043475ad3129f409e0), each entry's 8 bytes read little-endian.
REFERENCE_KEY = bytes(range(16))
VECTORS_SIP64 = (
    0x726FDB47DD0E0E31, 0x74F839C593DC67FD, 0x0D6C8009D9A94F5A, 0x85676696D7FB7E2D,
    0xCF2794E0277187B7, 0x18765564CD99A68D, 0xCBC9466E58FEE3CE, 0xAB0200F58B01D137,
    0x93F5F5799A932462, 0x9E0082DF0BA9E4B0, 0x7A5DBBC594DDB9F3, 0xF4B32F46226BADA7,
    0x751E8FBC860EE5FB, 0x14EA5627C0843D90, 0xF723CA908E7AF2EE, 0xA129CA6149BE45E5,
    0x3F2ACC7F57C29BDB, 0x699AE9F52CBE4794, 0x4BC1B3F0968DD39C, 0xBB6DC91DA77961BD,
    0xBED65CF21AA2EE98, 0xD0F2CBB02E3B67C7, 0x93536795E3A33E88, 0xA80C038CCD5CCEC8,
    0xB8AD50C6F649AF94, 0xBCE192DE8A85B8EA, 0x17D835B85BBB15F3, 0x2F2E6163076BCFAD,
    0xDE4DAAACA71DC9A5, 0xA6A2506687956571, 0xAD87A3535C49EF28, 0x32D892FAD841C342,
    0x7127512F72F27CCE, 0xA7F32346F95978E3, 0x12E0B01ABB051238, 0x15E034D40FA197AE,
    0x314DFFBE0815A3B4, 0x027990F029623981, 0xCADCD4E59EF40C4D, 0x9ABFD8766A33735C,
    0x0E3EA96B5304A7D0, 0xAD0C42D6FC585992, 0x187306C89BC215A9, 0xD4A60ABCF3792B95,
    0xF935451DE4F21DF2, 0xA9538F0419755787, 0xDB9ACDDFF56CA510, 0xD06C98CD5C0975EB,
    0xE612A3CB9ECBA951, 0xC766E62CFCADAF96, 0xEE64435A9752FE72, 0xA192D576B245165A,
    0x0A8787BF8ECB74B2, 0x81B3E73D20B49B6F, 0x7FA8220BA3B2ECEA, 0x245731C13CA42499,
    0xB78DBFAF3A8D83BD, 0xEA1AD565322A1A0B, 0x60E61C23A3795013, 0x6606D7E446282B93,
    0x6CA4ECB15C5F91E1, 0x9F626DA15C9625F3, 0xE51B38608EF25F57, 0x958A324CEB064572,
)  # fmt: skip
REFERENCE_MESSAGES = [bytes(range(i)) for i in range(64)]
KEYS = ["0123456789abcdef", "k3Y/with+base64="]  # like Pseudonymiser.hash_key's
_MASK = (1 << 64) - 1


# --- a scalar transcription of the module's docstring, one text at a time ---


def _rotl(x: int, bits: int) -> int:
    return ((x << bits) | (x >> (64 - bits))) & _MASK


def _sipround(v: list[int]) -> None:
    v[0] = (v[0] + v[1]) & _MASK
    v[1] = _rotl(v[1], 13) ^ v[0]
    v[0] = _rotl(v[0], 32)
    v[2] = (v[2] + v[3]) & _MASK
    v[3] = _rotl(v[3], 16) ^ v[2]
    v[0] = (v[0] + v[3]) & _MASK
    v[3] = _rotl(v[3], 21) ^ v[0]
    v[2] = (v[2] + v[1]) & _MASK
    v[1] = _rotl(v[1], 17) ^ v[2]
    v[2] = _rotl(v[2], 32)


def scalar_siphash24(message: bytes, key: bytes) -> int:
    k0, k1 = struct.unpack("<QQ", key)
    v: list[int] = [k0 ^ 0x736F6D6570736575, k1 ^ 0x646F72616E646F6D]
    v += [k0 ^ 0x6C7967656E657261, k1 ^ 0x7465646279746573]
    # the last word: the tail bytes, zeros, and the length (mod 256) in the top byte
    padded = message + bytes(7 - len(message) % 8) + bytes([len(message) & 0xFF])
    for (word,) in struct.iter_unpack("<Q", padded):
        v[3] ^= word
        _sipround(v)
        _sipround(v)
        v[0] ^= word
    v[2] ^= 0xFF
    for _ in range(4):
        _sipround(v)
    return v[0] ^ v[1] ^ v[2] ^ v[3]


def scalar_finalise(h: int) -> int:
    h ^= h >> 30
    h = (h * 0xBF58476D1CE4E5B9) & _MASK
    h ^= h >> 27
    h = (h * 0x94D049BB133111EB) & _MASK
    return h ^ (h >> 31)


def scalar_hash_text(text: str, key: str | bytes) -> int:
    raw_key = key.encode("utf-8") if isinstance(key, str) else key
    return scalar_finalise(scalar_siphash24(text.encode("utf-8"), raw_key))


# --- the reference's test vectors ---


def test_siphash24_gives_the_reference_test_vectors() -> None:
    (hashes,) = siphash24(pa.array(REFERENCE_MESSAGES, pa.binary()), [REFERENCE_KEY])
    assert [f"{h:016x}" for h in hashes.tolist()] == [f"{v:016x}" for v in VECTORS_SIP64]


def test_they_hold_when_the_texts_are_many_and_go_by_length() -> None:
    """Up to 256 texts go through the rounds together; more go in groups of one length."""
    many = pa.array(REFERENCE_MESSAGES * 5, pa.binary())
    (hashes,) = siphash24(many, [REFERENCE_KEY])
    assert hashes.tolist() == list(VECTORS_SIP64) * 5


def test_the_scalar_transcription_gives_them_too() -> None:
    got = [scalar_siphash24(m, REFERENCE_KEY) for m in REFERENCE_MESSAGES]
    assert got == list(VECTORS_SIP64)


def test_text_and_str_keys_are_hashed_as_their_utf8_bytes() -> None:
    texts = pa.array([m.decode("ascii") for m in REFERENCE_MESSAGES])  # bytes below 0x80
    (hashes,) = siphash24(texts, [REFERENCE_KEY.decode("ascii")])
    assert hashes.tolist() == list(VECTORS_SIP64)
    (keyed,) = hash_text(texts, [REFERENCE_KEY])
    assert keyed.tolist() == finalise(np.array(VECTORS_SIP64, dtype=np.uint64)).tolist()


def test_finalise_is_the_documented_mixer_and_leaves_its_input_alone() -> None:
    values = np.array([0, 1, 0x726FDB47DD0E0E31, _MASK], dtype=np.uint64)
    assert finalise(values).tolist() == [scalar_finalise(v) for v in values.tolist()]
    assert values.tolist() == [0, 1, 0x726FDB47DD0E0E31, _MASK]


# --- the vectorised code against the scalar transcription ---


@given(
    st.lists(st.binary(max_size=80), max_size=40),
    st.binary(min_size=16, max_size=16),
)
def test_siphash24_equals_the_scalar_one_for_any_bytes(messages: list[bytes], key: bytes) -> None:
    (hashes,) = siphash24(pa.array(messages, pa.binary()), [key])
    assert hashes.tolist() == [scalar_siphash24(m, key) for m in messages]


@given(st.lists(st.text(max_size=40) | st.text(min_size=30, max_size=90), max_size=40))
def test_hash_text_equals_the_scalar_one_for_any_text(texts: list[str]) -> None:
    for hashes, key in zip(hash_text(pa.array(texts, pa.string()), KEYS), KEYS, strict=True):
        assert hashes.tolist() == [scalar_hash_text(t, key) for t in texts]


def test_every_length_around_the_block_size_and_sliced_or_chunked_input() -> None:
    texts = ["x" * n for n in range(30)] + ["é" * 9, "£", "INC-000001", "INC-000002"]
    want = [scalar_hash_text(t, KEYS[0]) for t in texts]
    chunked = pa.chunked_array([pa.array(texts[:10]), pa.array(texts[10:])])
    sliced = pa.array(["skip", *texts, "skip"]).slice(1, len(texts))
    for strings in (pa.array(texts), chunked, sliced, pa.array(texts, pa.large_string())):
        (hashes,) = hash_text(strings, KEYS[:1])
        assert hashes.tolist() == want


def test_more_texts_than_are_hashed_together_keep_their_places() -> None:
    """Many texts of mixed lengths, interleaved, go through the rounds in several groups."""
    rng = np.random.default_rng(7)
    texts = [f"REF-{i}" + "z" * int(rng.integers(0, 20)) for i in range(3 * 8192 + 11)]
    for hashes, key in zip(hash_text(pa.array(texts), KEYS), KEYS, strict=True):
        assert hashes.tolist() == [scalar_hash_text(t, key) for t in texts]


def test_no_texts_give_empty_hashes() -> None:
    for strings in (pa.array([], pa.string()), pa.chunked_array([], pa.string())):
        assert [h.tolist() for h in hash_text(strings, KEYS)] == [[], []]


def test_missing_texts_and_bad_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="missing"):
        hash_text(pa.array(["a", None]), KEYS)
    with pytest.raises(ValueError, match="16 bytes"):
        hash_text(pa.array(["a"]), ["short"])
    with pytest.raises(ValueError, match="16 bytes"):
        hash_text(pa.array(["a"]), ["0123456789abcdeé"])  # 16 characters, 17 bytes


# --- compatibility: the hash that computed the identities stores hold ---

_BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="


@given(
    st.lists(st.text(max_size=12) | st.text(min_size=9, max_size=90), max_size=50),
    st.text(alphabet=_BASE64, min_size=16, max_size=16),
)
@example(["", "a", "12345678", "123456789", "é" * 40, "x" * 65, "nan", "2022-02-01"], KEYS[1])
def test_equals_pandas_hash_array_which_made_the_stored_identities(
    texts: list[str], key: str
) -> None:
    """Identities were first computed with ``pandas.util.hash_array``: they must not change."""
    (mine,) = hash_text(pa.array(texts, pa.string()), [key])
    pandas = pd.util.hash_array(np.array(texts, dtype=object), hash_key=key, categorize=False)
    assert mine.tolist() == pandas.tolist()
