"""The keyed hash of text that record identities are made of: SipHash-2-4, then a finaliser.

Every text value that enters a record's identity (record ids, and the distinct values of the
other text columns, dates included as their ISO text) is hashed here, by :func:`hash_text`,
to a 64-bit value under a 16-byte key. The hash of a text ``t`` under the key ``k`` is
``finalise(siphash24(utf8(t), k))``:

1. **SipHash-2-4** (J.-P. Aumasson and D. J. Bernstein, "SipHash: a fast short-input PRF",
   INDOCRYPT 2012; reference implementation https://github.com/veorq/SipHash), exactly as
   specified, with 64-bit output. With all arithmetic modulo 2**64:

   * the key's bytes 0-7 and 8-15, read little-endian, are ``k0`` and ``k1``; the state is
     ``v0 = k0 ^ 0x736f6d6570736575``, ``v1 = k1 ^ 0x646f72616e646f6d``,
     ``v2 = k0 ^ 0x6c7967656e657261``, ``v3 = k1 ^ 0x7465646279746573``;
   * the message (the text's UTF-8 bytes) is read as little-endian 64-bit words: its
     ``len // 8`` whole words, then one last word holding the remaining bytes, zero padding,
     and ``len mod 256`` in its top byte (the empty text is that one word alone);
   * each word ``m`` is absorbed as ``v3 ^= m``, two SipRounds, ``v0 ^= m``;
   * then ``v2 ^= 0xff``, four SipRounds, and the hash is ``v0 ^ v1 ^ v2 ^ v3``;
   * a SipRound is ``v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32);
     v2 += v3; v3 = rotl(v3, 16); v3 ^= v2; v0 += v3; v3 = rotl(v3, 21); v3 ^= v0;
     v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32)``.

   *Why*: SipHash is a pseudorandom function of the text under the key. Without the key,
   nobody holding a copy of the store can hash guessed record ids (or other values) and match
   them with its identities; and distinct texts collide with probability about 2**-64. The
   key comes from the pseudonym key (:meth:`ingest.pseudonyms.Pseudonymiser.hash_key`).

2. **The finaliser** (the mixing function of SplitMix64: G. L. Steele, D. Lea and
   C. H. Flood, "Fast splittable pseudorandom number generators", OOPSLA 2014, with
   D. Stafford's "Mix13" constants; its additive step is not applied)::

       h ^= h >> 30;  h *= 0xbf58476d1ce4e5b9
       h ^= h >> 27;  h *= 0x94d049bb133111eb
       h ^= h >> 31

   *Why*: not for strength or spread (SipHash's output is already uniform, and the finaliser
   is a bijection of 64-bit values, so it neither adds nor loses anything): identities were
   first computed with ``pandas.util.hash_array(texts, hash_key=key, categorize=False)``,
   which applies exactly this after SipHash-2-4, and stores hold those identities. Keeping it
   keeps every stored identity valid, so a file ingested again is still recognised.

The reference's own SipHash-2-4 test vectors (``vectors_sip64`` of its ``vectors.h``) and a
scalar implementation of this docstring check the code, in ``tests/unit/test_keyed_hash.py``.

The code is vectorised: the texts of a call go through the rounds together (in groups, see
``_lane_groups``), as 64-bit lanes read straight from the Arrow buffers, with numpy releasing
the GIL, so ingest's other threads keep running (hashing one Python string at a time would
hold it).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeAlias

import numpy as np
import numpy.typing as npt
import pyarrow as pa

U64 = npt.NDArray[np.uint64]
Texts: TypeAlias = "pa.Array | pa.ChunkedArray"  # of strings (as UTF-8) or binary (as is)
Key: TypeAlias = str | bytes  # 16 bytes; a str is taken as its UTF-8 bytes

KEY_BYTES = 16
_LANES = 8192  # texts hashed together: 4 state words x 2 keys x 8 KiB fit in a 1 MiB L2
_FEW = 256  # up to this many texts go through the rounds together, whatever their lengths
_INIT = (0x736F6D6570736575, 0x646F72616E646F6D, 0x6C7967656E657261, 0x7465646279746573)


def hash_text(texts: Texts, keys: Sequence[Key]) -> list[U64]:
    """Return the keyed hash of each text under each key: ``finalise(siphash24(...))``.

    One array per key, in the order of ``keys``. ``texts`` must hold no nulls (a missing
    value has no bytes to hash: callers decide which text stands for it).
    """
    return [_finalise_in_place(hashes) for hashes in siphash24(texts, keys)]


def siphash24(texts: Texts, keys: Sequence[Key]) -> list[U64]:
    """Return SipHash-2-4 (64-bit output) of each text's bytes under each key, one array a key."""
    data, offsets, lengths = _bytes_of(texts)
    k0, k1 = _key_words(keys)
    out = np.empty((len(keys), len(lengths)), dtype=np.uint64)
    for rows in _lane_groups(lengths // 8 + 1):  # the last block holds the tail and the length
        blocks = _blocks(data, offsets, lengths, rows)
        out[:, rows] = _siphash(blocks, lengths[rows] // 8, k0, k1)
    return list(out)


def _lane_groups(blocks_of: npt.NDArray[np.int64]) -> Iterator[npt.NDArray[np.intp]]:
    """Yield the groups of rows that go through the rounds together.

    Rows with the same number of blocks go together, ``_LANES`` at a time: one long text does
    not make every text pay for its length, and the state of every lane stays in the core's
    cache through the rounds. A few rows (the distinct values of some columns) go together
    whatever their lengths: there numpy's cost per call, not per text, is what counts.
    """
    if 0 < len(blocks_of) <= _FEW:
        yield np.arange(len(blocks_of))
        return
    for nblocks in np.unique(blocks_of):
        same = np.flatnonzero(blocks_of == nblocks)
        for start in range(0, len(same), _LANES):
            yield same[start : start + _LANES]


def finalise(hashes: U64) -> U64:
    """Return the finaliser (see the module's docstring) of each 64-bit value."""
    return _finalise_in_place(np.array(hashes, dtype=np.uint64))


def _finalise_in_place(values: U64) -> U64:
    with np.errstate(over="ignore"):
        values ^= values >> np.uint64(30)
        values *= np.uint64(0xBF58476D1CE4E5B9)
        values ^= values >> np.uint64(27)
        values *= np.uint64(0x94D049BB133111EB)
        values ^= values >> np.uint64(31)
    return values


def _bytes_of(
    texts: Texts,
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Return the texts' bytes, side by side, with each text's offset (and one past the last)."""
    binary = texts.cast(pa.large_binary())
    if isinstance(binary, pa.ChunkedArray):
        binary = binary.combine_chunks()
    if binary.null_count:
        raise ValueError("cannot hash missing texts")
    n = len(binary)
    _, offset_buffer, data_buffer = binary.buffers()
    if n == 0 or offset_buffer is None:
        return np.empty(0, np.uint8), np.zeros(1, np.int64), np.empty(0, np.int64)
    offsets = np.frombuffer(offset_buffer, dtype=np.int64)[binary.offset : binary.offset + n + 1]
    data = (
        np.frombuffer(data_buffer, dtype=np.uint8)
        if data_buffer is not None
        else np.empty(0, np.uint8)
    )
    return data, offsets, np.diff(offsets)


def _key_words(keys: Sequence[Key]) -> tuple[U64, U64]:
    """Return each key's two little-endian words (k0, k1), as columns: one row per key."""
    words = np.empty((len(keys), 2), dtype=np.uint64)
    for i, key in enumerate(keys):
        raw = key.encode("utf-8") if isinstance(key, str) else bytes(key)
        if len(raw) != KEY_BYTES:
            raise ValueError(f"a SipHash key is {KEY_BYTES} bytes")
        words[i] = np.frombuffer(raw, dtype="<u8")
    return words[:, :1].copy(), words[:, 1:].copy()


def _blocks(
    data: npt.NDArray[np.uint8],
    offsets: npt.NDArray[np.int64],
    lengths: npt.NDArray[np.int64],
    rows: npt.NDArray[np.intp],
) -> U64:
    """Return the message blocks (rows x blocks of the longest, little-endian words) of ``rows``.

    A row's last block (``length // 8``) holds its tail bytes and its length; any after it are
    zeros (see :func:`_siphash`).
    """
    row_lengths = lengths[rows]
    first, last = int(row_lengths.min()), int(row_lengths.max())
    width = (last // 8 + 1) * 8
    padded = np.zeros((len(rows), width), dtype=np.uint8)
    contiguous = rows[-1] - rows[0] == len(rows) - 1
    if first == last and contiguous:
        # the usual case: record ids of one format, side by side in the buffer
        start = int(offsets[rows[0]])
        padded[:, :first] = data[start : start + first * len(rows)].reshape(len(rows), first)
    elif last:
        # byte j of row r goes to (r, j); it comes from offsets[row] + j
        total = int(row_lengths.sum())
        firsts = np.repeat(np.cumsum(row_lengths) - row_lengths, row_lengths)
        within = np.arange(total, dtype=np.int64) - firsts
        starts = np.repeat(offsets[rows], row_lengths)
        targets = np.repeat(np.arange(len(rows), dtype=np.int64) * width, row_lengths) + within
        padded.reshape(-1)[targets] = data[starts + within]
    blocks = padded.view("<u8").astype(np.uint64)
    length_bytes = (row_lengths.astype(np.uint64) & np.uint64(0xFF)) << np.uint64(56)
    blocks[np.arange(len(rows)), row_lengths // 8] |= length_bytes
    return blocks


class _Lanes:
    """The four SipHash state words of every (key, text) lane, updated in place."""

    def __init__(self, k0: U64, k1: U64, n: int) -> None:
        shape = (k0.shape[0], n)
        self.v = [
            np.broadcast_to(k ^ np.uint64(init), shape).copy()
            for k, init in zip((k0, k1, k0, k1), _INIT, strict=True)
        ]
        self._spare = np.empty(shape, dtype=np.uint64)

    def _rotl(self, x: U64, bits: int) -> None:
        np.right_shift(x, np.uint64(64 - bits), out=self._spare)
        np.left_shift(x, np.uint64(bits), out=x)
        np.bitwise_or(x, self._spare, out=x)

    def absorb(self, message: U64) -> None:
        """Absorb one message word of each lane: ``v3 ^= m``, two SipRounds, ``v0 ^= m``."""
        self.v[3] ^= message
        self.rounds(2)
        self.v[0] ^= message

    def finish(self) -> U64:
        """Return each lane's hash: ``v2 ^= 0xff``, four SipRounds, ``v0 ^ v1 ^ v2 ^ v3``."""
        self.v[2] ^= np.uint64(0xFF)
        self.rounds(4)
        result = self.v[0].copy()
        for word in self.v[1:]:
            result ^= word
        return result

    def rounds(self, count: int) -> None:
        """Apply ``count`` SipRounds to every lane."""
        v0, v1, v2, v3 = self.v
        with np.errstate(over="ignore"):
            for _ in range(count):
                np.add(v0, v1, out=v0)
                self._rotl(v1, 13)
                np.bitwise_xor(v1, v0, out=v1)
                self._rotl(v0, 32)
                np.add(v2, v3, out=v2)
                self._rotl(v3, 16)
                np.bitwise_xor(v3, v2, out=v3)
                np.add(v0, v3, out=v0)
                self._rotl(v3, 21)
                np.bitwise_xor(v3, v0, out=v3)
                np.add(v2, v1, out=v2)
                self._rotl(v1, 17)
                np.bitwise_xor(v1, v2, out=v1)
                self._rotl(v2, 32)


def _siphash(blocks: U64, ends: npt.NDArray[np.int64], k0: U64, k1: U64) -> U64:
    """SipHash-2-4 of each row of ``blocks`` under each key (k0, k1: one row per key).

    Row r's message ends with its block ``ends[r]``. When rows end at different blocks, each
    lane's state is kept as it stood after its row's last block (the zero blocks after it go
    through the rounds with the others, and are then forgotten).
    """
    lanes = _Lanes(k0, k1, blocks.shape[0])
    mixed = bool(ends.min() < blocks.shape[1] - 1)
    kept = [np.empty_like(word) for word in lanes.v] if mixed else lanes.v
    for b in range(blocks.shape[1]):
        lanes.absorb(blocks[:, b])
        if mixed and (ending := np.flatnonzero(ends == b)).size:
            for keep, word in zip(kept, lanes.v, strict=True):
                keep[:, ending] = word[:, ending]
    lanes.v = kept
    return lanes.finish()
