"""Sealed fields: personal data and free text travel in events only as ciphertext.

AES-256-GCM with the case id as associated data, so a sealed value cannot be moved to another case.
Each service that writes free text seals it with its own key (``XF_SEAL_KEY``): intake's opens
petitioner identities and summaries, routing's opens its reasons; reporting holds no key at all.
Derived keys (HKDF) give secrets that need no storage, such as receipt codes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class Sealer:
    def __init__(self, key_b64: str):
        key = base64.b64decode(key_b64)
        if len(key) != 32:
            raise ValueError("the seal key must be base64 of 32 bytes")
        self._key = key
        self._aead = AESGCM(key)

    def seal(self, case_id: str, value: object) -> str:
        nonce = os.urandom(12)
        ct = self._aead.encrypt(nonce, json.dumps(value, ensure_ascii=False).encode(), case_id.encode())
        return base64.b64encode(nonce + ct).decode()

    def open(self, case_id: str, sealed: str) -> object:
        raw = base64.b64decode(sealed)
        return json.loads(self._aead.decrypt(raw[:12], raw[12:], case_id.encode()))

    def derive(self, purpose: str) -> bytes:
        """A separate secret for ``purpose``, derived from the seal key (HKDF-SHA256)."""
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode()).derive(self._key)


def keyed_digest(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()
