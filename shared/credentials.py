"""Access-key material: minting ids and secrets, and sealing secrets at rest.

A SigV4 signature is an HMAC keyed by a value derived from the secret and the day, so the
server needs the secret itself, not a hash of it. It is stored sealed: AES-256-GCM under
the installation's master key (``cryptography``'s AESGCM, an audited implementation, not
hand-written crypto), with the key id as associated data so a sealed secret cannot be
moved to another key. The master key comes from ``VERDICT_MASTER_KEY`` (base64 of 32
bytes) or a file under the Verdict home, created mode 600 on first use.
"""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
import string
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.config import Settings
from shared.domain.access import KEY_ID_PREFIX

MASTER_KEY_ENV = "VERDICT_MASTER_KEY"
MASTER_KEY_FILE = "master.key"
_KEY_ID_ALPHABET = string.ascii_uppercase + "234567"
SECRET_LENGTH = 40
_SECRET_ALPHABET = string.ascii_letters + string.digits + "+/"
_NONCE = 12


class SealingError(ValueError):
    """A sealed secret that this master key cannot open: another installation's, or altered."""


def new_key_id() -> str:
    return KEY_ID_PREFIX + "".join(secrets.choice(_KEY_ID_ALPHABET) for _ in range(16))


def new_secret() -> str:
    return "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(SECRET_LENGTH))


def _create(path: Path) -> None:
    """Write a new key where none is, atomically: services starting together on a fresh
    home all end up with the one key the first of them linked into place."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    # Readable by its owner only before a byte is written.
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as out:
            out.write(base64.b64encode(secrets.token_bytes(32)).decode())
        # Another process may have been first: its key is then the installation's.
        with contextlib.suppress(FileExistsError):
            os.link(draft, path)
    finally:
        draft.unlink()


class MasterKey:
    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("the master key is 32 bytes (base64 of them in VERDICT_MASTER_KEY)")
        self._aead = AESGCM(key)

    @classmethod
    def of(cls, settings: Settings) -> MasterKey:
        """The installation's key, as its settings name it (VERDICT_MASTER_KEY, else the
        file under VERDICT_HOME): every service and the CLI open secrets with the same."""
        environ = {MASTER_KEY_ENV: settings.master_key} if settings.master_key else {}
        return cls.load(settings.home.resolve(), environ)

    @classmethod
    def load(cls, home: Path, environ: dict[str, str] | None = None) -> MasterKey:
        """The environment's key, else the file under ``home``, created on first use."""
        env = os.environ if environ is None else environ
        given = env.get(MASTER_KEY_ENV)
        if given:
            return cls(base64.b64decode(given, validate=True))
        path = home / MASTER_KEY_FILE
        if not path.exists():
            _create(path)
        if path.stat().st_mode & 0o077:
            raise PermissionError(f"{path} must be readable by its owner only (chmod 600)")
        return cls(base64.b64decode(path.read_text().strip(), validate=True))

    def seal(self, key_id: str, secret: str) -> str:
        nonce = secrets.token_bytes(_NONCE)
        sealed = self._aead.encrypt(nonce, secret.encode(), key_id.encode())
        return base64.b64encode(nonce + sealed).decode()

    def unseal(self, key_id: str, sealed: str) -> str:
        raw = base64.b64decode(sealed)
        try:
            return self._aead.decrypt(raw[:_NONCE], raw[_NONCE:], key_id.encode()).decode()
        except InvalidTag:
            raise SealingError(
                f"the secret of {key_id} does not open with this master key"
            ) from None
