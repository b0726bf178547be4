"""Arrow tables as PostgreSQL binary COPY data, encoded a column at a time.

CSV COPY makes the server parse every value from text (about 3 µs a row for the record
schema), and psycopg's own binary ``write_row`` is a Python call per row. Here each column
becomes an Arrow binary array whose values are that column's COPY fields (the 4-byte length,
then the value in network byte order: PostgreSQL's ``*send`` format), and Arrow's element-wise
join lays the fields of each row end to end. Adjacent fixed-width columns without NULLs are
packed together first, in one numpy record array, so the join has fewer pieces to put
together. No Python runs per row, and the server only copies bytes.

The target columns must have the matching types: BIGINT for int64, INTEGER for int32, SMALLINT
for int16 and int8 (widened), TEXT for strings, DATE for date32 and TIMESTAMP (without time
zone) for timestamp[us].
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from geo.errors import StoreError

SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # then no flags and no header extension
TRAILER = b"\xff\xff"

_POSTGRES_EPOCH_DAYS = 10_957  # 2000-01-01, PostgreSQL's day 0, in days since 1970-01-01
_POSTGRES_EPOCH_US = _POSTGRES_EPOCH_DAYS * 86_400 * 1_000_000
_NULL = np.array([-1], dtype=">i4").view(np.uint8)
# Rows encoded at once. Small enough that the server starts inserting while the next chunk is
# encoded (with a queued COPY writer), large enough that numpy's per-call cost is amortised.
_CHUNK_ROWS = 16_384


def copy_chunks(table: pa.Table) -> Iterator[bytes]:
    """Yield ``table`` as one binary COPY stream, in chunks of a bounded number of rows.

    The first chunk is the signature and the last the trailer, so the chunks go to
    ``Copy.write`` as they are.
    """
    for name, column in zip(table.column_names, table.columns, strict=True):
        _number_format(name, column.type)  # fail before anything is sent
    yield SIGNATURE
    for start in range(0, table.num_rows, _CHUNK_ROWS):
        yield encode_rows(table.slice(start, _CHUNK_ROWS))
    yield TRAILER


def encode_rows(table: pa.Table) -> bytes:
    """Return the rows of ``table`` as binary COPY tuples (no signature, no trailer)."""
    n = table.num_rows
    if n == 0:
        return b""
    pieces: list[pa.Array] = []
    packed: list[tuple[str, npt.NDArray[np.int64], str, int]] = []  # fixed, no NULLs, in a row
    for name, column in zip(table.column_names, table.columns, strict=True):
        values = column.combine_chunks()
        number = _number_format(name, values.type)
        if number is not None and values.null_count == 0:
            dtype, minus, storage = number
            raw = values.cast(storage).to_numpy(zero_copy_only=False).astype(np.int64)
            packed.append((name, raw - minus, dtype, np.dtype(dtype).itemsize))
            continue
        if packed:
            pieces.append(_packed(packed, n))
            packed = []
        if number is not None:
            dtype, minus, storage = number
            pieces.append(_nullable_number(values, dtype, minus, storage))
        else:
            pieces.append(_text(values))
    if packed:
        pieces.append(_packed(packed, n))
    count = np.full(n, table.num_columns, dtype=">i2").view(np.uint8)
    rows = pc.binary_join_element_wise(_fixed(count.reshape(n, 2)), *pieces, b"")
    offsets = np.frombuffer(rows.buffers()[1], np.int32, n + 1, rows.offset * 4)
    return bytes(rows.buffers()[2][int(offsets[0]) : int(offsets[-1])].to_pybytes())


def _number_format(name: str, kind: pa.DataType) -> tuple[str, int, pa.DataType] | None:
    """Return (big-endian dtype, epoch shift, integer storage) for a number column; None: text."""
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return None
    if pa.types.is_int64(kind):
        return ">i8", 0, pa.int64()
    if pa.types.is_int32(kind):
        return ">i4", 0, pa.int32()
    if pa.types.is_int16(kind) or pa.types.is_int8(kind):
        return ">i2", 0, pa.int16()
    if pa.types.is_date32(kind):
        return ">i4", _POSTGRES_EPOCH_DAYS, pa.int32()
    if pa.types.is_timestamp(kind) and kind.unit == "us" and kind.tz is None:
        return ">i8", _POSTGRES_EPOCH_US, pa.int64()
    raise StoreError(f"cannot encode the column {name} of type {kind} for binary COPY")


def _packed(columns: list[tuple[str, npt.NDArray[np.int64], str, int]], n: int) -> pa.Array:
    """Return the fields of adjacent NULL-free number columns, row by row, as one piece."""
    fields: list[tuple[str, str]] = []
    for name, _, dtype, _ in columns:
        fields += [(f"{name} length", ">i4"), (name, dtype)]
    record = np.empty(n, dtype=np.dtype(fields))  # packed: no padding between fields
    for name, values, _, width in columns:
        record[f"{name} length"] = width
        record[name] = values
    return _fixed(record.view(np.uint8).reshape(n, record.dtype.itemsize))


def _nullable_number(values: pa.Array, dtype: str, minus: int, storage: pa.DataType) -> pa.Array:
    """Return fixed-width number fields where some are NULL (the length word -1 alone)."""
    width = np.dtype(dtype).itemsize
    n = len(values)
    raw = pc.fill_null(values.cast(storage), 0).to_numpy(zero_copy_only=False).astype(np.int64)
    field = np.empty((n, 4 + width), dtype=np.uint8)
    field[:, :4] = np.array([width], dtype=">i4").view(np.uint8)
    field[:, 4:] = (raw - minus).astype(dtype).view(np.uint8).reshape(n, width)
    null = values.is_null().to_numpy(zero_copy_only=False)
    field[null, :4] = _NULL
    keep = np.ones((n, 4 + width), dtype=bool)
    keep[null, 4:] = False
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(np.where(null, 4, 4 + width), out=offsets[1:])
    return pa.Array.from_buffers(
        pa.binary(), n, [None, pa.py_buffer(offsets), pa.py_buffer(field[keep])]
    )


def _text(values: pa.Array) -> pa.Array:
    """Return text fields: the UTF-8 byte length, then the bytes (NULL: the length -1 alone)."""
    n = len(values)
    lengths = pc.binary_length(values).to_numpy(zero_copy_only=False)
    if values.null_count:
        lengths = np.where(values.is_valid().to_numpy(zero_copy_only=False), lengths, -1)
        values = pc.fill_null(values, "")
    prefix = np.asarray(lengths, dtype=">i4").view(np.uint8).reshape(n, 4)
    return pc.binary_join_element_wise(_fixed(prefix), values.cast(pa.binary()), b"")


def _fixed(matrix: npt.NDArray[np.uint8]) -> pa.Array:
    """Return each row of a 2-D byte matrix as one binary value (without copying it)."""
    n, width = matrix.shape
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    data = np.ascontiguousarray(matrix)
    return pa.Array.from_buffers(pa.binary(), n, [None, pa.py_buffer(offsets), pa.py_buffer(data)])
