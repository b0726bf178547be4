"""Keyed pseudonyms: person references become HMAC-SHA256 values that only the key can recompute.

The key lives outside the store (an environment variable or a key file created with mode 0600),
so a copy of the store alone cannot be matched back to names or case references.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
import stat
from pathlib import Path

import pandas as pd

from geo.errors import ConfigError

KEY_BYTES = 32
_HEX_KEY = re.compile(r"^[0-9a-fA-F]{64}$")
_SPACES = re.compile(r"\s+")


def load_key(*, env_key: str | None, key_file: Path) -> bytes:
    """Return the pseudonym key: from ``env_key`` (hex) if given, else from ``key_file``.

    The key file is created with mode 0600 when it does not exist yet; an existing one that
    other users may read is refused.
    """
    if env_key:
        if not _HEX_KEY.match(env_key.strip()):
            raise ConfigError("STREETSAFE_PSEUDONYM_KEY must be 64 hexadecimal characters")
        return bytes.fromhex(env_key.strip())
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # created by a concurrent first run; read it below
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(KEY_BYTES) + "\n")
    mode = key_file.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"key file {key_file} can be read by other users; run: chmod 600 {key_file}"
        )
    text = key_file.read_text().strip()
    if not _HEX_KEY.match(text):
        raise ConfigError(f"key file {key_file} does not hold a 64-character hex key")
    return bytes.fromhex(text)


def fold_name(text: str) -> str:
    """Fold a name so that spacing and case do not make two of one (agencies, places)."""
    return _SPACES.sub(" ", text.strip()).casefold()


def normalise_reference(ref: str) -> str:
    """Fold a person reference to its letters and digits, in one case.

    ``AB-17``, ``ab17`` and ``A.B. 17`` are one woman: teams write the same code with other
    spacing and punctuation, and the people threshold must count her once, not three times.
    """
    return "".join(ch for ch in ref.casefold() if ch.isalnum())


class Pseudonymiser:
    """Turns person references into stable keyed pseudonyms, and derives other keyed hashes."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ConfigError("the pseudonym key is too short (at least 16 bytes)")
        self._key = key

    def _mac(self, message: str) -> bytes:
        return hmac.new(self._key, message.encode("utf-8"), hashlib.sha256).digest()

    def people(self, refs: pd.Series) -> pd.Series:
        """Return each reference's pseudonym as a positive 63-bit integer; empty -> <NA>.

        The value is the HMAC-SHA256 of the normalised reference, truncated to its first 63 bits
        (RFC 2104 allows truncation): ample for telling apart the people of a town.
        """
        # the keyed hash once per distinct reference, then a take: no per-row Python
        codes, uniques = pd.factorize(refs.fillna("").astype(str))
        folded = [normalise_reference(ref) for ref in uniques]
        table = pd.array(
            [
                int.from_bytes(self._mac("person:" + ref)[:8], "big") >> 1 if ref else None
                for ref in folded
            ],
            dtype="Int64",
        )
        return pd.Series(table.take(codes), index=refs.index)

    def hash_key(self, purpose: str) -> str:
        """Return a 16-character key for the keyed text hash (ingest.keyed_hash), one a purpose."""
        return base64.b64encode(self._mac("hash-key:" + purpose)[:12]).decode("ascii")

    def int_key(self, purpose: str) -> int:
        """Return a secret 64-bit integer, one per purpose."""
        return int.from_bytes(self._mac("int-key:" + purpose)[:8], "big")

    @property
    def fingerprint(self) -> str:
        """A short public identifier of the key, stored to catch a store opened with another key."""
        return self._mac("fingerprint").hex()[:16]
