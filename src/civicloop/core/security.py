"""Secrets and personal data: password hashing and masking for display.

Passwords are hashed with argon2id (memory-hard; OWASP ASVS 2.4). Phone and ID numbers are
masked server-side before they are serialised to anyone without a need to see them
(GB/T 35273-2020 display restriction): ``138****5678``, ``310115********123X``.
"""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# Low-cost parameters keep logins fast on a 2-core box while still memory-hard (19 MiB, the
# OWASP minimum for argon2id).
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


_PHONE = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")
_ID = re.compile(r"(?<![0-9A-Za-z])(\d{6})(\d{8})(\d{3}[\dXx])(?![0-9A-Za-z])")


def mask_phone(phone: str | None) -> str | None:
    if not phone:
        return phone
    digits = re.sub(r"\D", "", phone)
    if len(digits) < 7:
        return "*" * len(digits)
    return f"{digits[:3]}{'*' * (len(digits) - 7)}{digits[-4:]}"


def mask_text(text: str | None) -> str | None:
    """Mask mobile numbers and 18-digit ID numbers inside free text."""
    if not text:
        return text
    text = _ID.sub(lambda m: f"{m.group(1)}********{m.group(3)}", text)
    return _PHONE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
