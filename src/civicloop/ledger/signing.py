"""The ledger's signing key: checkpoints are signed with Ed25519 so a root cannot be forged.

A signed checkpoint says "this platform stated, at this time, that its ledger of N entries has
this root". The key is generated on first use under ``<data_dir>/keys/`` with 0600 permissions
(created with ``O_EXCL`` so two processes never write two keys) and never leaves the file; only
the public key is published (``GET /api/v1/ledger/public-key``). Nothing here logs key material.

The signed message is plain text any Ed25519 tool can check (see docs/ledger-proofs.md)::

    civicloop-checkpoint/v1\\n<tree size>\\n<root hash hex>\\n<timestamp ISO-8601 UTC>\\n
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

# cryptography: the field's audited Ed25519 implementation (signing and verifying checkpoints)
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

KEY_FILE = "ledger-ed25519.pem"
MESSAGE_PREFIX = "civicloop-checkpoint/v1"


def checkpoint_message(tree_size: int, root_hex: str, at_iso: str) -> bytes:
    return f"{MESSAGE_PREFIX}\n{tree_size}\n{root_hex}\n{at_iso}\n".encode()


def key_id(public_raw: bytes) -> str:
    """A short name for a public key: the first 8 bytes of its SHA-256, in hex."""
    return hashlib.sha256(public_raw).hexdigest()[:16]


@dataclass(frozen=True)
class Signer:
    private: Ed25519PrivateKey
    public_hex: str
    key_id: str

    def sign(self, message: bytes) -> str:
        return self.private.sign(message).hex()


def _public_raw(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def load_signer(data_dir: Path) -> Signer:
    """The platform's signing key, generated (0600) on first use."""
    folder = data_dir / "keys"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / KEY_FILE
    if not path.exists():
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        # O_EXCL: if another process created the key meanwhile, keep theirs
        with contextlib.suppress(FileExistsError):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(pem)
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(loaded, Ed25519PrivateKey):
        raise ValueError(f"{path} does not hold an Ed25519 private key")
    raw = _public_raw(loaded)
    return Signer(private=loaded, public_hex=raw.hex(), key_id=key_id(raw))


def public_key_hex(data_dir: Path) -> tuple[str, str]:
    """(public key hex, key id) of the platform's key (generating it on first use)."""
    s = load_signer(data_dir)
    return s.public_hex, s.key_id


def verify_signature(public_hex: str, signature_hex: str, message: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_hex)).verify(
            bytes.fromhex(signature_hex), message
        )
    except (InvalidSignature, ValueError):
        return False
    return True
