"""API key material, the upstream way: 32 random bytes, base64url without padding, only the
SHA3-256 hash stored, the full key ``{app_id}_{key_id}.{secret}`` shown once."""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets


def new_secret() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii").rstrip("=")


def hash_secret(secret: str) -> str:
    """Hex SHA3-256 of the secret: the only form of it that is ever stored."""
    return hashlib.sha3_256(secret.encode("utf-8")).hexdigest()


def verify_secret(secret: str, secret_hash: str) -> bool:
    """Constant-time comparison of a presented secret with a stored hash."""
    return hmac.compare_digest(hash_secret(secret).encode("ascii"), secret_hash.encode("ascii"))


def full_key(app_id: str, key_id: str, secret: str) -> str:
    return f"{app_id}_{key_id}.{secret}"


def new_key_id() -> str:
    """The public identifier of a key: 16 hex characters from a cryptographic source."""
    return secrets.token_hex(8)
