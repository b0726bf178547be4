"""Open a CSV file-like object as a stream of string batches, whatever program saved it.

Handles UTF-8 with or without a byte-order mark, UTF-16 (Excel's "Unicode text"), cp1252
(Excel's "CSV" on Windows), CRLF line endings and ``,``/``;``/tab separators. A file that cannot be
read as a table raises :class:`~geo.errors.SchemaError` with one clear message.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import shutil
import tempfile
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import IO, Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from geo.errors import SchemaError
from ingest.files import restore_escaped
from ingest.kinds import REJECT_COLUMNS, normalise_name

# the columns only a rejects file streetsafe wrote has (ingest.pipeline.write_rejects)
WRITTEN_BY_US = frozenset(REJECT_COLUMNS)

BLOCK_SIZE = 16 << 20  # bytes parsed per batch: bounds memory on very large files
MAX_LINE = 128 << 20  # bytes: a longer line is refused (a field over the setting is a reject)
_SNIFF_BYTES = 64 << 10
# Bytes no text file holds but as a stray (NUL and the C0 controls besides tab, line ends,
# form feed and Ctrl-Z): a file whose opening is more than this share of them is binary.
_CONTROL = np.array([b not in (9, 10, 12, 13, 26) and b < 32 for b in range(256)])
_BINARY_SHARE = 0.05
_MAGIC = (
    (b"%PDF-", "a PDF document"),
    (b"\x1f\x8b", "a gzip-compressed file (unzip it first)"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
    (b"SQLite format 3\x00", "an SQLite database"),
)
# The rows of a wrong width are read again with Python's csv module: as long a field as Arrow.
csv.field_size_limit(MAX_LINE)

Progress = Callable[[int, int], None]  # (bytes done, bytes total)


@dataclass
class CsvTable:
    """An opened CSV file: its header, how it was decoded, and its rows in batches."""

    source: str
    columns: list[str]  # normalised names, in file order
    original_columns: list[str]
    encoding: str
    delimiter: str
    _stream: IO[bytes]
    _size: int
    _block_size: int = BLOCK_SIZE  # a block holds at least two of the file's longest lines
    _sha256: str | None = None  # set when batches() has read the file to its end
    _invalid: list[tuple[int, str]] = field(default_factory=list)  # (fields, text)
    _bad_rows: list[tuple[int, int, str]] | None = None
    # the file is its header line alone, without a line end (Arrow cannot skip such a header)
    _header_only: bool = False

    def batches(self, progress: Progress | None = None) -> Generator[pd.DataFrame]:
        """Yield the data rows in frames of strings, columns by normalised name.

        A frame's index is each row's 0-based position among the file's data rows (see
        :meth:`lines_of_rows`); blank rows are dropped.
        """
        if self._header_only:
            return
        self._stream.seek(0)
        counting = _CountingReader(self._stream, self._size, progress)
        expected = len(self.columns)

        def on_invalid(row: Any) -> str:
            self._invalid.append((row.actual_columns, row.text))
            return "skip"

        try:
            reader = pacsv.open_csv(
                counting,
                read_options=pacsv.ReadOptions(
                    # The header (and any byte-order mark) is skipped: UTF-8 needs no transcoding.
                    encoding="utf8" if self.encoding.startswith("utf-8") else self.encoding,
                    block_size=self._block_size,
                    column_names=[f"c{i}" for i in range(expected)],
                    skip_rows=1,
                ),
                parse_options=pacsv.ParseOptions(
                    delimiter=self.delimiter,
                    newlines_in_values=True,
                    ignore_empty_lines=False,
                    invalid_row_handler=on_invalid,
                ),
                convert_options=pacsv.ConvertOptions(
                    column_types={f"c{i}": pa.string() for i in range(expected)},
                    strings_can_be_null=False,
                    quoted_strings_can_be_null=False,
                ),
            )
            row = 0
            for record_batch in reader:
                frame = record_batch.to_pandas()
                frame.columns = pd.Index(self.columns)
                frame.index = pd.RangeIndex(row, row + len(frame))
                row += len(frame)
                frame = _without_blank_rows(frame)
                # a rejects file streetsafe wrote: its formula-safe cells back as first sent
                yield restore_escaped(frame) if set(self.columns) >= WRITTEN_BY_US else frame
        except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
            if "straddl" in str(exc):  # a quoted row of many lines longer than a block
                raise SchemaError(
                    f"a row (with line breaks inside quotes) is longer than "
                    f"{self._block_size:,} bytes: check the file's quotes",
                    source=self.source,
                ) from None
            raise SchemaError(f"cannot be read as CSV: {exc}", source=self.source) from None
        self._sha256 = counting.sha256()
        if progress:
            progress(self._size, self._size)

    @property
    def sha256(self) -> str:
        """The SHA-256 of the file's bytes: the audit trail says which file was ingested.

        Hashed as :meth:`batches` streams the file (off the critical path: ``hashlib`` works
        without the GIL); read again only if asked before the batches were read.
        """
        if self._sha256 is None:
            position = self._stream.tell()
            self._stream.seek(0)
            reader = _CountingReader(self._stream, self._size, None)
            while reader.read(1 << 20):
                pass
            self._stream.seek(position)
            self._sha256 = reader.sha256()
        return self._sha256

    @property
    def invalid_rows(self) -> int:
        """How many rows had the wrong number of fields (skipped while reading)."""
        return len(self._invalid)

    def lines_of_rows(self, rows: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Return the spreadsheet line (header = 1) of each 0-based data row index.

        Rows with the wrong number of fields were skipped by the parser, which shifts the index
        of every later row; they are found again here (a slow path taken only when they exist).
        """
        bad = np.asarray([line for line, _, _ in self.bad_rows()], dtype=np.int64)
        if bad.size == 0:
            return rows + 2
        # Data rows that precede the j-th bad line: bad[j] - 2 - j.
        shift = np.searchsorted(bad - 2 - np.arange(bad.size), rows, side="right")
        return rows + 2 + shift

    def bad_rows(self) -> list[tuple[int, int, str]]:
        """Return (line, number of fields, text) of each row with the wrong number of fields."""
        if not self._invalid:
            return []
        if self._bad_rows is not None:
            return self._bad_rows
        self._stream.seek(0)
        text = io.TextIOWrapper(self._stream, encoding=self.encoding, newline="")
        lines = []
        try:
            for line, fields in enumerate(csv.reader(text, delimiter=self.delimiter), start=1):
                if line > 1 and fields and len(fields) != len(self.columns):
                    lines.append((line, len(fields)))
        finally:
            text.detach()
        if len(lines) != len(self._invalid):  # the two parsers disagree: trust the row order
            lines = [(0, n) for n, _ in self._invalid]
        self._bad_rows = [
            (line, n, raw) for (line, n), (_, raw) in zip(lines, self._invalid, strict=True)
        ]
        return self._bad_rows


def _without_blank_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop the rows whose fields are all empty (blank lines)."""
    # Only rows with an empty first field can be blank: compare the other fields for those alone.
    maybe = (frame.iloc[:, 0] == "").to_numpy()
    if not maybe.any():
        return frame
    blank = np.zeros(len(frame), dtype=bool)
    blank[maybe] = (frame[maybe] == "").all(axis=1).to_numpy()
    return frame[~blank] if blank.any() else frame


class _CountingReader(io.RawIOBase):
    """A read-only wrapper that reports how many bytes were consumed, and hashes them."""

    def __init__(self, inner: IO[bytes], size: int, progress: Progress | None) -> None:
        self._inner = inner
        self._size = size
        self._progress = progress
        self._done = 0
        self._digest = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        readinto = getattr(self._inner, "readinto", None)
        if readinto is not None:  # files and BytesIO: into the caller's buffer, one copy fewer
            got = readinto(view)
            if got is None:  # a non-blocking stream with nothing ready: not the end of the file
                raise BlockingIOError("the file's stream had no data ready; save it and retry")
            n = int(got)
        else:
            data = self._inner.read(len(view))
            n = len(data)
            view[:n] = data
        self._digest.update(view[:n])
        self._done += n
        if self._progress and n:
            self._progress(self._done, self._size)
        return n

    def sha256(self) -> str:
        """Return the SHA-256 of every byte read so far (the whole file, once at its end)."""
        return self._digest.hexdigest()


def open_table(file: IO[bytes], *, source: str | None = None) -> CsvTable:
    """Open a CSV file (a binary file-like object) and read its header.

    Raises :class:`SchemaError` when the file is empty, binary, a spreadsheet rather than a CSV,
    or has no usable header.
    """
    stream = _seekable(file)
    source = source or getattr(file, "name", None) or "<upload>"
    stream.seek(0, io.SEEK_END)
    size = stream.tell()
    stream.seek(0)
    head = stream.read(_SNIFF_BYTES)
    if not head.strip(b" \t\r\n\xef\xbb\xbf"):
        raise SchemaError("the file is empty", source=source)
    if head.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        raise SchemaError(
            "this is a spreadsheet workbook, not a CSV file: save it as 'CSV UTF-8' and try again",
            source=source,
        )
    _refuse_binary(head, source)
    encoding, longest = _scan(stream, head)
    if longest > MAX_LINE:
        raise SchemaError(
            f"a line is {longest:,} bytes long: streetsafe reads lines up to {MAX_LINE:,} "
            "bytes (and fields up to STREETSAFE_MAX_FIELD_BYTES)",
            source=source,
        )
    header_line = _first_line(head, encoding)
    if header_line is None or (encoding != "utf-16" and "\x00" in header_line):
        raise SchemaError("cannot decode the header line as text", source=source)
    delimiter = _sniff_delimiter(header_line)
    original = next(csv.reader([header_line], delimiter=delimiter))
    original = [c.strip() for c in original]
    columns = [normalise_name(c) for c in original]
    if not any(columns):
        raise SchemaError("the first line has no column names", source=source)
    seen: dict[str, str] = {}
    for orig, col in zip(original, columns, strict=True):
        if col and col in seen:
            raise SchemaError(
                f"columns {seen[col]!r} and {orig!r} are the same column; rename or remove one",
                source=source,
            )
        seen[col] = orig
    stream.seek(0)
    return CsvTable(
        source=source,
        columns=[c or f"unnamed_{i + 1}" for i, c in enumerate(columns)],
        original_columns=original,
        encoding=encoding,
        delimiter=delimiter,
        _stream=stream,
        _size=size,
        _block_size=BLOCK_SIZE if 2 * longest < BLOCK_SIZE else 2 * longest + (1 << 20),
        # (in UTF-16 too, a line end holds one of these bytes)
        _header_only=size <= len(head) and b"\n" not in head and b"\r" not in head,
    )


def _seekable(file: IO[bytes]) -> IO[bytes]:
    try:
        if file.seekable():
            return file
    except (AttributeError, OSError):
        pass
    spool = tempfile.SpooledTemporaryFile(max_size=64 << 20)  # noqa: SIM115 - owned by the table
    shutil.copyfileobj(file, spool)
    spool.seek(0)
    return spool


def _refuse_binary(head: bytes, source: str) -> None:
    """Refuse a file that is not text: by its first bytes (a PDF, an image, an archive), or
    by its share of control bytes. A stray NUL in a row is that row's problem, not the file's;
    UTF-16 (every other byte NUL in English text) has a byte-order mark and is text."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return
    for magic, what in _MAGIC:
        if head.startswith(magic):
            raise SchemaError(f"this is {what}, not a CSV text file", source=source)
    controls = int(_CONTROL[np.frombuffer(head, dtype=np.uint8)].sum())
    if controls > _BINARY_SHARE * len(head):
        raise SchemaError(
            f"this is a binary file, not a CSV text file ({controls:,} of its first "
            f"{len(head):,} bytes are control characters)",
            source=source,
        )


def _scan(stream: IO[bytes], head: bytes) -> tuple[str, int]:
    """Read the file once: choose its encoding, and measure its longest line (bytes).

    UTF-8 when a byte-order mark says so or the bytes are valid UTF-8 throughout, UTF-16 by
    its mark, else the Windows code page Excel uses in the UK (cp1252).
    """
    if head.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        encoding = "utf-8"
    decoder = codecs.getincrementaldecoder("utf-8")() if encoding == "utf-8" else None
    longest = line_start = offset = 0
    stream.seek(0)
    try:
        while chunk := stream.read(1 << 20):
            ends = np.flatnonzero(np.frombuffer(chunk, dtype=np.uint8) == 10) + offset
            if ends.size:
                starts = np.concatenate(([line_start], ends[:-1] + 1))
                longest = max(longest, int((ends - starts).max()))
                line_start = int(ends[-1]) + 1
            offset += len(chunk)
            if decoder is not None:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    encoding, decoder = "cp1252", None
        if decoder is not None:
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        encoding = "cp1252"
    finally:
        stream.seek(0)
    return encoding, max(longest, offset - line_start)


def _first_line(head: bytes, encoding: str) -> str | None:
    try:
        text = head.decode(encoding, errors="strict" if len(head) < _SNIFF_BYTES else "ignore")
    except UnicodeDecodeError:
        return None
    text = text.lstrip("\ufeff")
    return text.splitlines()[0] if text.splitlines() else None


def _sniff_delimiter(header: str) -> str:
    counts = {d: header.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","
