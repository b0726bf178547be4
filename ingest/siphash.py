"""Keyed SipHash-2-4 of many strings at once, in numpy, without holding the GIL.

Gives exactly what ``pandas.util.hash_array(strings, hash_key=key, categorize=False)`` gives (the
SipHash-2-4 of each string's UTF-8 bytes under the 16-byte key, then pandas' SplitMix
finaliser), so identities computed either way match. pandas hashes one Python string at a time
while holding the GIL; here every string of a batch moves through the rounds together, as
64-bit lanes read straight from the Arrow buffers, so ingest's other threads keep running.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pyarrow as pa

U64 = npt.NDArray[np.uint64]

_LANES = 8192  # strings hashed together: 4 state words x 2 keys x 8 KiB fit in a 1 MiB L2
_INIT = (0x736F6D6570736575, 0x646F72616E646F6D, 0x6C7967656E657261, 0x7465646279746573)


def hash_strings(strings: pa.Array | pa.ChunkedArray, keys: Sequence[str]) -> list[U64]:
    """Return the keyed hash of each string under each 16-character key, as pandas does.

    ``strings`` must hold no nulls (a missing value has no bytes to hash).
    """
    binary = strings.cast(pa.large_binary())
    if isinstance(binary, pa.ChunkedArray):
        binary = binary.combine_chunks()
    if binary.null_count:
        raise ValueError("cannot hash missing strings")
    key_words = [np.frombuffer(_key_bytes(k), dtype="<u8") for k in keys]
    k0 = np.array([w[0] for w in key_words], dtype=np.uint64)[:, None]
    k1 = np.array([w[1] for w in key_words], dtype=np.uint64)[:, None]
    n = len(binary)
    out = np.empty((len(keys), n), dtype=np.uint64)
    if n == 0:
        return list(out)
    offsets = np.frombuffer(binary.buffers()[1], dtype=np.int64)[
        binary.offset : binary.offset + n + 1
    ]
    buffer = binary.buffers()[2]
    data = np.frombuffer(buffer, dtype=np.uint8) if buffer is not None else np.empty(0, np.uint8)
    lengths = np.diff(offsets)
    blocks_of = lengths // 8 + 1  # the last block holds the tail bytes and the length
    # Rows with the same number of blocks go through the rounds together: one long string
    # does not make every row pay for its length. They go _LANES at a time, so that the state
    # of every lane stays in the core's cache through the rounds.
    for nblocks in np.unique(blocks_of):
        same = np.flatnonzero(blocks_of == nblocks)
        for start in range(0, len(same), _LANES):
            rows = same[start : start + _LANES]
            out[:, rows] = _siphash(_blocks(data, offsets, lengths, rows, int(nblocks)), k0, k1)
    return list(_finalise(out))


def _key_bytes(key: str) -> bytes:
    raw = key.encode("utf-8")
    if len(raw) != 16:
        raise ValueError("a SipHash key is 16 bytes")
    return raw


def _blocks(
    data: npt.NDArray[np.uint8],
    offsets: npt.NDArray[np.int64],
    lengths: npt.NDArray[np.int64],
    rows: npt.NDArray[np.intp],
    nblocks: int,
) -> U64:
    """Return the message blocks (rows x ``nblocks`` little-endian words) of the given rows."""
    width = nblocks * 8
    padded = np.zeros((len(rows), width), dtype=np.uint8)
    row_lengths = lengths[rows]
    first, last = int(row_lengths.min()), int(row_lengths.max())
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
    blocks[:, -1] |= (row_lengths.astype(np.uint64) & np.uint64(0xFF)) << np.uint64(56)
    return blocks


class _Lanes:
    """The four SipHash state words of every (key, string) lane, updated in place."""

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

    def rounds(self, count: int) -> None:
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


def _siphash(blocks: U64, k0: U64, k1: U64) -> U64:
    """SipHash-2-4 of each row of ``blocks`` under each key (k0, k1: one row per key)."""
    lanes = _Lanes(k0, k1, blocks.shape[0])
    v0, _, v2, v3 = lanes.v
    for b in range(blocks.shape[1]):
        message = blocks[:, b]
        v3 ^= message
        lanes.rounds(2)
        v0 ^= message
    v2 ^= np.uint64(0xFF)
    lanes.rounds(4)
    result = lanes.v[0].copy()
    for word in lanes.v[1:]:
        result ^= word
    return result


def _finalise(values: U64) -> U64:
    """pandas' redistribution of each 64-bit hash (a SplitMix64 finaliser), in place."""
    with np.errstate(over="ignore"):
        values ^= values >> np.uint64(30)
        values *= np.uint64(0xBF58476D1CE4E5B9)
        values ^= values >> np.uint64(27)
        values *= np.uint64(0x94D049BB133111EB)
        values ^= values >> np.uint64(31)
    return values
