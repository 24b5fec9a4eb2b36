"""A daemon's signing key, configured once: an encrypted keystore file or an environment variable.

A key is never accepted on the command line (it would sit in ``ps`` and shell
history) and never logged; only the address is.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount

PASSWORD_ENV = "POQ_KEYSTORE_PASSWORD"

# Devnet keystores hold Anvil's public development keys, so a cheap scrypt cost
# keeps daemon start-up fast; keystores for real keys use eth-account's default.
DEVNET_SCRYPT_N = 2**12


class KeyConfigError(ValueError):
    """The key could not be loaded; the message says from where and what to do."""


def from_env(var: str) -> LocalAccount:
    """The account whose hex private key is in environment variable ``var``."""
    value = os.environ.get(var)
    if not value:
        raise KeyConfigError(f"environment variable {var} is not set: export the node's private key (hex) in it, "
                        "or use --keystore")
    try:
        return Account.from_key(value.strip())
    except (ValueError, TypeError) as exc:
        raise KeyConfigError(f"environment variable {var} does not hold a valid hex private key "
                             f"({type(exc).__name__})") \
            from None


def password(password_file: Path | None) -> str:
    """The keystore password: ``$POQ_KEYSTORE_PASSWORD``, else the first line of ``password_file``."""
    if os.environ.get(PASSWORD_ENV) is not None:
        return os.environ[PASSWORD_ENV]
    if password_file is None:
        raise KeyConfigError(f"no keystore password: set {PASSWORD_ENV} or pass --password-file")
    try:
        return Path(password_file).read_text(encoding="utf-8").splitlines()[0]
    except (OSError, IndexError) as exc:
        raise KeyConfigError(f"cannot read the keystore password from {password_file}: {exc}") from None


def from_keystore(path: Path, password_file: Path | None = None) -> LocalAccount:
    """The account in an encrypted JSON keystore (the format geth, ape and cast use)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise KeyConfigError(f"cannot read keystore {path}: {exc}") from None
    try:
        return Account.from_key(Account.decrypt(data, password(password_file)))
    except ValueError as exc:
        raise KeyConfigError(f"cannot decrypt keystore {path} ({exc}): wrong password?") from None


def write_keystore(account: LocalAccount, path: Path, password_: str, scrypt_n: int | None = None) -> Path:
    """Encrypt ``account`` into a keystore at ``path`` (mode 0600)."""
    data = Account.encrypt(account.key, password_, kdf="scrypt", iterations=scrypt_n)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh)
    return path


def write_password_file(path: Path) -> Path:
    """A fresh random password in a mode-0600 file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(secrets.token_urlsafe(24) + "\n")
    return path
