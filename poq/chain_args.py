"""The options every chain command shares (deployment, RPC, key, store), and how setup errors print."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from oracle.chain.devnet import DEFAULT_STATE_DIR
from poq.options import positive_float, rpc_url

DEFAULT_DEPLOYMENT = DEFAULT_STATE_DIR / "deployment.json"


def add_chain_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--deployment", type=Path, default=DEFAULT_DEPLOYMENT,
                   help="deployment file written by `poq devnet up` (default .poq/deployment.json)")
    p.add_argument("--rpc", type=rpc_url, default=None, help="JSON-RPC URL to use instead of the deployment file's")


def add_daemon_args(p: argparse.ArgumentParser, default_node: str | None = None) -> None:
    add_chain_args(p)
    key = p.add_mutually_exclusive_group()
    key.add_argument("--node", default=default_node,
                     help="account name from the deployment file (its keystore and password file)")
    key.add_argument("--keystore", type=Path, help="encrypted JSON keystore of the account")
    key.add_argument("--key-env", metavar="VAR", help="environment variable holding the hex private key")
    p.add_argument("--password-file", type=Path, default=None,
                   help="keystore password file (default: $POQ_KEYSTORE_PASSWORD, else the deployment's)")
    p.add_argument("--store", type=Path, default=None,
                   help="the daemon's state (sqlite); default "
                        "<deployment folder>/stores/<name>-<contract>-<deploy block hash>.sqlite")
    p.add_argument("--poll", type=positive_float, default=0.5,
                   help="seconds between polls of the chain (default 0.5)")


def key_choice(args: argparse.Namespace):
    """The ``--node`` / ``--keystore`` / ``--key-env`` / ``--password-file`` options as a ``KeyChoice``."""
    from node.startup import KeyChoice

    return KeyChoice(args.node, args.keystore, args.key_env, args.password_file)


def open_daemon(args: argparse.Namespace, role: str):
    """``node.startup.open_daemon`` with this command's options: ``(deployment, Daemon)``."""
    from node import startup

    return startup.open_daemon(args.deployment, key_choice(args), role, args.rpc, args.store, args.poll)


def setup_errors() -> tuple[type[BaseException], ...]:
    """What a misconfigured command fails with: printed as one line, exit code 2."""
    from node.store import StoreCorrupt, StoreLocked, StoreMismatch
    from oracle.chain.client import ChainError
    from oracle.chain.keys import KeyConfigError

    return (ChainError, KeyConfigError, StoreMismatch, StoreLocked, StoreCorrupt, FileNotFoundError, LookupError,
            ValueError)


def fail(exc: BaseException) -> int:
    print(f"poq: {exc}", file=sys.stderr)
    return 2
