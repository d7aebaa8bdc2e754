#!/usr/bin/env python3
"""Check that a civicloop ledger entry is in a published, signed checkpoint — with hashlib only.

    python verify_inclusion.py PROOF.json CHECKPOINT.json

PROOF.json: ``GET /api/v1/ledger/entries/{seq}/proof`` (or ``civicloop ledger prove SEQ --json``);
CHECKPOINT.json: the checkpoint as published (``GET /api/v1/ledger/checkpoints/{id}``), fetched
separately so the root does not come from the proof. The entry's hash is recomputed from its
content (canonical JSON, SHA-256), so a modified entry fails. Hashing is RFC 6962 (leaf =
SHA-256(0x00 || chain hash bytes), node = SHA-256(0x01 || left || right)); the path is checked
with the RFC 9162 §2.1.3.2 algorithm. Exit 0 when included, 1 when not.
"""

import hashlib
import json
import sys


def H(b: bytes) -> bytes:
    return hashlib.sha256(b).digest()


with open(sys.argv[1], encoding="utf-8") as f1, open(sys.argv[2], encoding="utf-8") as f2:
    proof, checkpoint = json.load(f1), json.load(f2)
entry = proof.get("entry")
if entry:  # recompute the entry's chain hash from its content
    body = {k: v for k, v in entry.items() if k != "hash"}
    text = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    entry_hash = hashlib.sha256(text.encode()).hexdigest()
else:  # hash-only proof: checks that this hash is in the tree
    entry_hash = proof["entry_hash"]
fn, sn, r = proof["leaf_index"], checkpoint["tree_size"] - 1, H(b"\x00" + bytes.fromhex(entry_hash))
ok = proof["tree_size"] == checkpoint["tree_size"] and 0 <= fn <= sn
for p in map(bytes.fromhex, proof["audit_path"]):
    if sn == 0:
        ok = False
        break
    if fn & 1 or fn == sn:
        r = H(b"\x01" + p + r)
        while not fn & 1 and fn != 0:
            fn, sn = fn >> 1, sn >> 1
    else:
        r = H(b"\x01" + r + p)
    fn, sn = fn >> 1, sn >> 1
ok = ok and sn == 0 and r.hex() == checkpoint["root_hash"]
print(
    f"entry {proof['seq']} {'IS' if ok else 'is NOT'} in checkpoint {checkpoint['id']}"
    f" (size {checkpoint['tree_size']}, root {checkpoint['root_hash'][:16]}…)"
)
sys.exit(0 if ok else 1)
