"""A daemon put together from a deployment file and a key: account, checks, store and locks.

The key is chosen once (``KeyChoice``): an account the deployment file names
(its keystore and password file), a keystore, or an environment variable;
never a key on the command line. ``open_daemon`` loads the deployment, the key
and the store, connects (checked: chain id, code, deploy block hash), refuses
an account the contract does not know in the daemon's role, and locks both the
store and the account, so a second daemon on the same key cannot start.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from pathlib import Path

from eth_account.signers.local import LocalAccount

from node.daemon import Daemon
from node.retry import describe, is_transient
from node.store import Binding, ProcessLock, Store
from oracle.chain import keys
from oracle.chain.client import ChainError, PoQClient
from oracle.chain.deployment import Deployment
from oracle.protocol.params import Role

# Seconds each RPC request may take before it counts as a fault and is retried.
RPC_TIMEOUT = 10.0
# Roles whose daemon only acts for an account registered in that role (anyone may be a requester).
NODE_ROLES = ("inference", "evaluator")


@dataclass(frozen=True)
class KeyChoice:
    """Which key a daemon signs with: exactly one of ``node``, ``keystore``, ``key_env``."""

    node: str | None = None
    keystore: Path | None = None
    key_env: str | None = None
    password_file: Path | None = None


def setup_logging(name: str) -> logging.Logger:
    """Plain one-line logs on stderr, prefixed with the daemon's name."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s", datefmt="%H:%M:%S")
    for noisy in ("web3", "urllib3", "httpx", "sentence_transformers", "transformers"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return logging.getLogger(name)


def load_account(deployment, key: KeyChoice, role: str | None = None) -> tuple[str, LocalAccount]:
    """(name, account) from the key choice; checks a named account's key matches its address and,
    given ``role``, that the deployment file lists the account in that role."""
    if key.key_env:
        acct = keys.from_env(key.key_env)
        return acct.address[:10], acct
    if key.keystore:
        acct = keys.from_keystore(key.keystore, key.password_file)
        return acct.address[:10], acct
    if not key.node:
        raise keys.KeyConfigError("choose the node's key: --node NAME (from the deployment file), "
                                  "--keystore PATH or --key-env VAR")
    configured = deployment.account(key.node)
    if role in NODE_ROLES and configured.role != role:
        others = ", ".join(a.name for a in deployment.accounts_by_role(role)) or "none"
        raise keys.KeyConfigError(f"--node {key.node}: {deployment.path} lists {key.node!r} with the role "
                                  f"{configured.role!r}, so it cannot run the {role} daemon (it would idle): "
                                  f"give one of its {role} accounts ({others})")
    if not configured.keystore:
        raise keys.KeyConfigError(f"account {key.node!r} in {deployment.path} has no keystore: "
                                  "use --keystore or --key-env")
    password_file = key.password_file or (deployment.resolve(deployment.password_file)
                                          if deployment.password_file else None)
    acct = keys.from_keystore(deployment.resolve(configured.keystore), password_file)
    if acct.address != configured.address:
        raise keys.KeyConfigError(f"keystore of {key.node!r} holds {acct.address}, but {deployment.path} "
                                  f"lists {configured.address}")
    return key.node, acct


def open_daemon(deployment_path: Path, key: KeyChoice, role: str, rpc: str | None = None,
                store_path: Path | None = None, poll: float = 0.5) -> tuple[Deployment, Daemon]:
    """Load the deployment, the key and the store, and connect (checked): ``(deployment, Daemon)``."""
    deployment = Deployment.load(deployment_path)
    name, account = load_account(deployment, key, role)
    log = setup_logging(name)
    daemon = make_daemon(deployment, name, account, log, rpc, store_path, poll, role)
    log.info("%s %s (%s) on %s, store %s", role, name, account.address, rpc or deployment.rpc_url,
             daemon.store.path)
    return deployment, daemon


def make_daemon(deployment: Deployment, name: str, account: LocalAccount, log: logging.Logger,
                rpc: str | None = None, store_path: Path | None = None, poll: float = 0.5,
                role: str | None = None) -> Daemon:
    """A ``Daemon`` for ``account`` on ``deployment``: its store bound to the deployment (deploy block hash
    included) and account, and locked, with the account itself locked on this machine.

    Given a node ``role``, the account must be registered on chain in that role (a daemon for an account
    of another role would idle; one never registered would revert on every round).
    """
    try:
        client = deployment.connect(rpc, timeout=RPC_TIMEOUT)
        if role in NODE_ROLES:
            check_registered(client, account.address, role)
        binding = Binding.of(client, deployment.deploy_block, account.address)
    except Exception as exc:  # an RPC that goes away between the checks: one line, not a traceback
        if not is_transient(exc):
            raise
        raise ChainError(f"RPC {rpc or deployment.rpc_url} stopped answering while the daemon started "
                         f"({describe(exc)}): start it again once the chain answers") from exc
    # Two daemons on one key clash whatever their stores: lock the account too, beside the default stores.
    account_lock = ProcessLock(deployment.folder / "stores" / f"{account.address.lower()}.lock",
                               f"account {account.address}")
    try:
        store = Store(store_path or deployment.folder / "stores" / binding.file_name(name), identity=binding)
    except BaseException:
        account_lock.release()
        raise
    daemon = Daemon(name, client, account, store, deployment.deploy_block, log, poll,
                    deploy_hash=binding.deploy_hash)
    daemon.locks.append(account_lock)
    return daemon


def check_registered(client: PoQClient, address: str, role: str) -> None:
    """Refuse to run a node daemon for an account the contract does not know in ``role``."""
    registered = client.node(address)["role"]
    if registered != Role[role.upper()]:
        what = "is not registered" if registered == Role.NONE else f"is registered as {registered.name.lower()}"
        raise keys.KeyConfigError(f"account {address} {what} on PoQ {client.address}, so a {role} daemon for it "
                                  f"would idle: register it as {role} first, or give the key of a {role} node")
