"""Hashing of personal data (emails, names, phone numbers) from CRM exports.

Raw PII never leaves a reader: the HubSpot and Salesforce readers replace it with salted
HMAC-SHA256 digests (hex) before returning a frame, so nothing downstream (warehouse, notebooks,
HTML, archive of runs) can hold it. The same person gets the same hash under the same salt, so joins
(e.g. contacts to deals) still work; a different salt gives unrelated hashes.

The salt comes from the environment variable named by ``settings.ingest.pii_salt_env``
(``MKTDASH_PII_SALT`` by default) or else from ``paths.secrets_dir()/"pii_salt"``, created on first use
with 32 random bytes and mode 0600 (``.secrets/`` is git-ignored). Losing the salt only breaks joins
between old and new hashes; it never exposes data.

Written by hand (30 lines of stdlib ``hmac``) because no library adds anything here.

>>> h = hash_value("  Ann@Example.com ", "s", kind="email")
>>> h == hash_value("ann@example.com", "s", kind="email")
True
>>> len(h)
64
"""

from __future__ import annotations

import hmac
import os
import re
import secrets
from typing import Any, Literal

import numpy as np
import pandas as pd

from mktdash import paths

Kind = Literal["email", "phone", "name", "text"]
DEFAULT_ENV = "MKTDASH_PII_SALT"
_WS = re.compile(r"\s+")
_NON_DIGIT = re.compile(r"\D+")


def salt(settings: Any = None) -> str:
    """The PII salt: ``$<settings.ingest.pii_salt_env>`` if set, else the local secret file (created if absent)."""
    env_name = getattr(getattr(settings, "ingest", None), "pii_salt_env", None) or DEFAULT_ENV
    value = os.environ.get(env_name, "").strip()
    if value:
        return value
    path = paths.secrets_dir() / "pii_salt"
    if path.exists():
        value = path.read_text(encoding="utf-8").strip()
        if value:
            return value
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    value = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(value + "\n")
    os.chmod(path, 0o600)
    return value


def normalise(value: str, kind: Kind = "text") -> str:
    """Canonical form before hashing: emails lower-cased and stripped, phones digits only, names/text
    lower-cased with whitespace collapsed."""
    s = str(value)
    if kind == "phone":
        return _NON_DIGIT.sub("", s)
    return _WS.sub(" ", s).strip().lower()


def hash_value(value: str | None, salt: str, kind: Kind = "text") -> str | None:
    """HMAC-SHA256 (hex) of the normalised ``value`` keyed by ``salt``; None for empty values."""
    if value is None or (isinstance(value, float) and value != value) or value is pd.NA:
        return None
    norm = normalise(value, kind)
    if not norm:
        return None
    return hmac.digest(salt.encode("utf-8"), f"{kind}:{norm}".encode(), "sha256").hex()


def hash_series(values: pd.Series, salt: str, kind: Kind = "text") -> pd.Series:
    """Vector form of :func:`hash_value`: normalised with vectorised string ops, each distinct value hashed
    once (one-shot C ``hmac.digest``); returns a ``string`` Series (NA for empty values)."""
    s = values.astype("string")
    if kind == "phone":
        norm = s.str.replace(r"\D+", "", regex=True)
    else:
        norm = s.str.replace(r"\s+", " ", regex=True).str.strip().str.lower()
    norm = norm.mask(norm == "")
    codes, uniques = pd.factorize(norm)
    key = salt.encode("utf-8")
    digests = np.array(
        [hmac.digest(key, f"{kind}:{u}".encode(), "sha256").hex() for u in uniques.tolist()] + [None],
        dtype=object,
    )
    return pd.Series(digests[codes], index=values.index, dtype="string")  # code -1 -> the trailing None
