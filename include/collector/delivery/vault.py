"""Secrets at rest (Dropbox refresh tokens, PKCE verifiers): Fernet, with key rotation.

Keys are a list, newest first: the first encrypts, every one decrypts (``MultiFernet``), so a
new key can be put in front while old ciphertexts still open; ``collector dropbox rotate-keys``
then re-encrypts every stored token with the newest key, after which the old key can go.
Where the keys come from: ``COLLECTOR_TOKEN_KEYS`` (comma-separated), else a key made once
under the state directory (the demo); under Airflow the ``collector_token_keys`` connection's
password overrides both (plugins/collector_airflow/hooks/dropbox_api.py).
"""

from __future__ import annotations

import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class VaultError(ValueError):
    """No usable key, or a ciphertext no configured key opens (the message never holds it)."""


class TokenVault:
    def __init__(self, keys: list[str]):
        usable = [k.strip() for k in keys if k and k.strip()]
        if not usable:
            raise VaultError("no encryption key configured (COLLECTOR_TOKEN_KEYS)")
        try:
            self._fernets = [Fernet(k.encode()) for k in usable]
        except ValueError:
            raise VaultError(
                "COLLECTOR_TOKEN_KEYS holds a key that is not a Fernet key (32 url-safe "
                "base64-encoded bytes; make one with `collector dropbox new-key`)"
            ) from None
        self._box = MultiFernet(self._fernets)
        self.key_id = key_id(usable[0])

    def encrypt(self, secret: str) -> str:
        return self._box.encrypt(secret.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        try:
            return self._box.decrypt(ciphertext.encode()).decode()
        except InvalidToken:
            raise VaultError(
                "a stored token opens with none of the configured keys (was a key removed "
                "before `collector dropbox rotate-keys` ran?)"
            ) from None

    def rotate(self, ciphertext: str) -> str:
        """The same secret, encrypted with the newest key."""
        try:
            return self._box.rotate(ciphertext.encode()).decode()
        except InvalidToken:
            raise VaultError("a stored token opens with none of the configured keys") from None


def key_id(key: str) -> str:
    """A short fingerprint that says which key encrypted a row, without revealing it."""
    return hashlib.sha256(key.strip().encode()).hexdigest()[:12]


def new_key() -> str:
    return Fernet.generate_key().decode()
