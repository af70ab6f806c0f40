"""Encryption at rest for provider credentials (Fernet; MultiFernet for key rotation)."""

import base64
import hashlib
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


@cache
def _fernet() -> MultiFernet:
    keys = settings.CREDENTIAL_KEYS or [
        base64.urlsafe_b64encode(hashlib.sha256(f"persona-studio/credentials/{settings.SECRET_KEY}".encode()).digest())
    ]
    return MultiFernet([Fernet(key) for key in keys])


def encrypt(plaintext: str) -> bytes:
    return _fernet().encrypt(plaintext.encode())


class UnreadableSecret(Exception):
    """The stored secret was encrypted with a key this server no longer has."""


def decrypt(token: bytes) -> str:
    try:
        return _fernet().decrypt(bytes(token)).decode()
    except InvalidToken as exc:
        raise UnreadableSecret("credential was encrypted with a key this server does not have") from exc
