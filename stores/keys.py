"""API key material exactly as lokstra-auth makes and checks it (docs/upstream.md, section A).

- The secret: 32 bytes from a cryptographic source, base64url without padding (43
  characters): ``pkg/utils/hasher/bcrypt.go`` L36-L42 upstream.
- Stored: only ``base64url(SHA3-256(secret))`` without padding, 43 characters
  (``utils/crypto_helper.go`` L27-L39, ``pkg/utils/hasher/bcrypt.go`` L45-L50). Consoles
  before this one stored the hex digest, which upstream's authenticator can never match.
- The key string shown once: ``{prefix}_{key_id}.{secret}``. Upstream's authenticator
  (``pkg/domain/credential/apikey/credential.go`` L29-L62) splits a presented key at its
  first ``.`` (the secret follows) and the part before at its last ``_``: what precedes is
  compared with the stored ``prefix``, what follows is looked up as ``key_id``. So a
  ``key_id`` holds no ``_`` and a prefix no ``.``; the stored prefix is upstream's
  ``sk_live`` / ``sk_test`` (``pk_…`` for public keys), with no trailing underscore.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from enum import Enum

SECRET_BYTES = 32
HASH_LENGTH = 43
"""base64url of a 32-byte SHA3-256 digest, without padding."""

_UPSTREAM_HASH = re.compile(r"[A-Za-z0-9_-]{43}")
_HEX_HASH = re.compile(r"[0-9a-f]{64}")
_PADDED_HASH = re.compile(r"[A-Za-z0-9_-]{43}=")


def new_secret() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii").rstrip("=")


def hash_secret(secret: str) -> str:
    """``base64url(SHA3-256(secret))`` without padding: the only form of a secret ever stored,
    and the one upstream's authenticator compares with."""
    digest = hashlib.sha3_256(secret.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def verify_secret(secret: str, secret_hash: str) -> bool:
    """Constant-time comparison of a presented secret with a stored hash (upstream's encoding)."""
    return hmac.compare_digest(hash_secret(secret).encode("ascii"), secret_hash.encode("utf-8", "replace"))


def key_prefix(key_type: str, environment: str) -> str:
    """``sk_live``, ``sk_test`` (upstream's ``fmt.Sprintf("sk_%s", env)``), ``pk_…`` for public keys."""
    return f"{'pk' if key_type == 'public' else 'sk'}_{environment}"


def full_key(prefix: str, key_id: str, secret: str) -> str:
    """The key string an API client presents, in the form upstream's authenticator parses."""
    return f"{prefix}_{key_id}.{secret}"


def public_id(prefix: str, key_id: str) -> str:
    """What a listing shows of a key: the part of the key string before the ``.`` (older
    consoles stored the prefix with a trailing ``_``; it is not doubled)."""
    return f"{prefix.removesuffix('_')}_{key_id}"


@dataclass(frozen=True)
class ParsedKey:
    prefix: str
    key_id: str
    secret: str


def parse_key(key: str) -> ParsedKey | None:
    """Upstream's parse of a presented key (first ``.``, then last ``_``), or None when it
    refuses the key."""
    if not key.strip() or "_" not in key or "." not in key:
        return None
    left, secret = key.split(".", 1)
    cut = left.rfind("_")
    if cut < 0 or not secret:
        return None
    return ParsedKey(left[:cut], left[cut + 1:], secret)


def new_key_id() -> str:
    """The public identifier of a key: 16 lowercase hex characters from a cryptographic
    source. Not upstream's ``appkey_<32 hex>``: its ``_`` makes upstream's own authenticator
    look the key up by the wrong id; and 64 random bits keep the whole key string (68
    characters) on one line of an 80-column dialog, while ``key_id`` is unique anyway."""
    return secrets.token_hex(8)


class HashForm(str, Enum):
    UPSTREAM = "upstream"
    """43 characters of base64url: what upstream writes and verifies."""
    CONSOLE_HEX = "console_hex"
    """64 hex digits: what consoles before this one wrote; upstream can never verify it."""
    LEGACY_PADDED = "legacy_padded"
    """44 characters ending in ``=``: upstream's early API-key module, which hashed the whole key."""
    UNKNOWN = "unknown"


def hash_form(secret_hash: str) -> HashForm:
    if _UPSTREAM_HASH.fullmatch(secret_hash):
        return HashForm.UPSTREAM
    if _HEX_HASH.fullmatch(secret_hash):
        return HashForm.CONSOLE_HEX
    if _PADDED_HASH.fullmatch(secret_hash):
        return HashForm.LEGACY_PADDED
    return HashForm.UNKNOWN


HASH_FORM_PROBLEMS: dict[HashForm, str] = {
    HashForm.CONSOLE_HEX: "hex SHA3-256 written by an older console: lokstra-auth cannot verify it",
    HashForm.LEGACY_PADDED: "a padded hash of upstream's early API-key module: the current authenticator cannot verify it",
    HashForm.UNKNOWN: "not a hash lokstra-auth writes",
}
"""Why a key with that hash cannot be used with lokstra-auth (its secret cannot be recovered:
the key must be re-issued)."""
