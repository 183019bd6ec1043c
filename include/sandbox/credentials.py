"""Service-account keys for the sandbox: real RSA keys, so google-auth signs real JWTs."""

from __future__ import annotations

import uuid

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


def service_account_info(
    base_url: str, email: str = "collector-etl@sandbox-project.iam.gserviceaccount.com"
) -> dict:
    """A service-account JSON like Google's, whose ``token_uri`` is the sandbox's."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return {
        "type": "service_account",
        "project_id": "sandbox-project",
        "private_key_id": uuid.uuid4().hex,
        "private_key": pem,
        "client_email": email,
        "client_id": str(uuid.uuid4().int)[:21],
        "token_uri": f"{base_url.rstrip('/')}/token",
    }
