"""Identifiers: case numbers people can read aloud, tracking codes citizens can type, secrets.

Case numbers follow the vendor convention seen in GB/T 30428 implementations
(``C``/``E`` + class code + date + serial), tracking codes avoid look-alike characters.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid

# No 0/O, 1/I/L: citizens read these codes off an SMS and type them on a phone.
_TRACKING_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def new_uuid() -> str:
    return uuid.uuid4().hex


def tracking_code(length: int = 10) -> str:
    """``length`` characters drawn uniformly from the alphabet (one CSPRNG call, not ten)."""
    base = len(_TRACKING_ALPHABET)
    n = secrets.randbelow(base**length)
    out = []
    for _ in range(length):
        n, digit = divmod(n, base)
        out.append(_TRACKING_ALPHABET[digit])
    return "".join(out)


def new_secret(prefix: str, nbytes: int = 24) -> str:
    """A bearer secret (token or API key); only its SHA-256 is ever stored."""
    return f"{prefix}_{secrets.token_urlsafe(nbytes)}"


def secret_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
