"""Argon2id password hashes."""

from __future__ import annotations

import os

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError

# VITRINE_PASSWORD_HASHING=fast picks argon2's cheapest profile: for test suites only, where
# hundreds of accounts are made. Production always uses the library's recommended profile.
_FAST = os.environ.get("VITRINE_PASSWORD_HASHING") == "fast"
_hasher = PasswordHasher.from_parameters(profiles.CHEAPEST) if _FAST else PasswordHasher()

MIN_LENGTH = 10


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_matches(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)
