"""``poq node inference|evaluator``: run a node daemon against a deployed PoQ.

The daemon follows the contract's events from its stored block cursor, acts in
every round it can take, keeps everything it needs to reveal in its own store
(fsync'd before each commit), and resumes rounds in flight after a restart.
Its key is configured once: ``--node NAME`` (the keystore the deployment file
lists), ``--keystore PATH``, or ``--key-env VAR``; never on the command line.
Stop it with SIGTERM or Ctrl-C.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from poq.commands.devnet import DEFAULT_STATE_DIR
from poq.options import positive_eth, positive_float, positive_int, rpc_url

DEFAULT_DEPLOYMENT = DEFAULT_STATE_DIR / "deployment.json"
# Seconds each RPC request may take before it counts as a fault and is retried.
RPC_TIMEOUT = 10.0
# Roles whose daemon only acts for an account registered in that role (anyone may be a requester).
NODE_ROLES = ("inference", "evaluator")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("node", help="run an inference or evaluator node daemon",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    roles = p.add_subparsers(dest="role", metavar="ROLE", required=True)
    inf = roles.add_parser("inference", help="answer every open round with a model")
    inf.add_argument("--model", required=True, type=_model_name,
                     help="packaged model short name (e.g. smollm2-135m, qwen2.5-0.5b)")
    inf.add_argument("--max-new-tokens", type=positive_int, default=64, help="generation limit (default 64)")
    inf.add_argument("--threads", type=positive_int, default=None,
                     help="CPU threads for a llama.cpp model (default: all cores; 1 when daemons share few cores)")
    inf.add_argument("--min-slot-share-eth", type=positive_eth, default=None,
                     help="skip rounds whose slot share (inference pool / slots) is below this many ETH "
                          "(default 0.0001); rounds whose best pay would not cover the gas are skipped too")
    add_daemon_args(inf)
    inf.set_defaults(func=_run_inference)
    ev = roles.add_parser("evaluator", help="score every round whose committee this node sits on")
    ev.add_argument("--evaluator", required=True, type=_evaluator_name,
                    help="evaluator name (e.g. token_f1, minilm-bi, minilm-onnx)")
    add_daemon_args(ev)
    ev.set_defaults(func=_run_evaluator)


def _model_name(text: str) -> str:
    """A model ``load_model`` can resolve (checked without loading it)."""
    from oracle.pipeline.models import check_model_name

    try:
        check_model_name(text)
    except ValueError as exc:  # UnknownModelError
        raise argparse.ArgumentTypeError(str(exc)) from None
    except Exception as exc:  # ModelFileError (a BackendError): a .gguf path that does not exist
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _evaluator_name(text: str) -> str:
    """An evaluator ``load_evaluator`` knows (checked without loading it)."""
    from oracle.pipeline.quality import check_name

    try:
        check_name(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


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
                   help="the daemon's state (sqlite); default <deployment folder>/stores/<name>-<contract>-<deploy block hash>.sqlite")
    p.add_argument("--poll", type=positive_float, default=0.5,
                   help="seconds between polls of the chain (default 0.5)")


def setup_logging(name: str) -> logging.Logger:
    """Plain one-line logs on stderr, prefixed with the daemon's name."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s", datefmt="%H:%M:%S")
    for noisy in ("web3", "urllib3", "httpx", "sentence_transformers", "transformers"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return logging.getLogger(name)


def load_account(args: argparse.Namespace, deployment, role: str | None = None):
    """(name, account) from the key option; checks a named account's key matches its address and,
    given ``role``, that the deployment file lists the account in that role."""
    from node import keys

    if args.key_env:
        acct = keys.from_env(args.key_env)
        return acct.address[:10], acct
    if args.keystore:
        acct = keys.from_keystore(args.keystore, args.password_file)
        return acct.address[:10], acct
    if not args.node:
        raise keys.KeyConfigError("choose the node's key: --node NAME (from the deployment file), "
                                  "--keystore PATH or --key-env VAR")
    configured = deployment.account(args.node)
    if role in NODE_ROLES and configured.role != role:
        others = ", ".join(a.name for a in deployment.accounts_by_role(role)) or "none"
        raise keys.KeyConfigError(f"--node {args.node}: {deployment.path} lists {args.node!r} with the role "
                                  f"{configured.role!r}, so it cannot run the {role} daemon (it would idle): "
                                  f"give one of its {role} accounts ({others})")
    if not configured.keystore:
        raise keys.KeyConfigError(f"account {args.node!r} in {deployment.path} has no keystore: "
                                  "use --keystore or --key-env")
    password_file = args.password_file or (deployment.resolve(deployment.password_file)
                                           if deployment.password_file else None)
    acct = keys.from_keystore(deployment.resolve(configured.keystore), password_file)
    if acct.address != configured.address:
        raise keys.KeyConfigError(f"keystore of {args.node!r} holds {acct.address}, but {deployment.path} "
                                  f"lists {configured.address}")
    return args.node, acct


def open_daemon(args: argparse.Namespace, role: str):
    """Load the deployment, the key and the store, and connect (checked): ``(deployment, Daemon)``."""
    from oracle.chain.deployment import Deployment

    deployment = Deployment.load(args.deployment)
    name, account = load_account(args, deployment, role)
    log = setup_logging(name)
    daemon = make_daemon(deployment, name, account, log, args.rpc, args.store, args.poll, role)
    log.info("%s %s (%s) on %s, store %s", role, name, account.address, args.rpc or deployment.rpc_url,
             daemon.store.path)
    return deployment, daemon


def make_daemon(deployment, name: str, account, log: logging.Logger, rpc: str | None = None,
                store_path: Path | None = None, poll: float = 0.5, role: str | None = None):
    """A ``Daemon`` for ``account`` on ``deployment``: its store bound to the deployment (deploy block hash
    included) and account, and locked, with the account itself locked on this machine.

    Given a node ``role``, the account must be registered on chain in that role (a daemon for an account
    of another role would idle; one never registered would revert on every round).
    """
    from node.daemon import Daemon
    from node.store import Binding, ProcessLock, Store

    client = deployment.connect(rpc, timeout=RPC_TIMEOUT)
    if role in NODE_ROLES:
        check_registered(client, account.address, role)
    binding = Binding.of(client, deployment.deploy_block, account.address)
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


def check_registered(client, address: str, role: str) -> None:
    """Refuse to run a node daemon for an account the contract does not know in ``role``."""
    from node.keys import KeyConfigError
    from oracle.protocol.params import Role

    registered = client.node(address)["role"]
    if registered != Role[role.upper()]:
        what = "is not registered" if registered == Role.NONE else f"is registered as {registered.name.lower()}"
        raise KeyConfigError(f"account {address} {what} on PoQ {client.address}, so a {role} daemon for it would "
                             f"idle: register it as {role} first, or give the key of a {role} node")


def setup_errors() -> tuple[type[BaseException], ...]:
    """What a misconfigured command fails with: printed as one line, exit code 2."""
    from node.keys import KeyConfigError
    from node.store import StoreCorrupt, StoreLocked, StoreMismatch
    from oracle.chain.client import ChainError

    return (ChainError, KeyConfigError, StoreMismatch, StoreLocked, StoreCorrupt, FileNotFoundError, LookupError,
            ValueError)


def fail(exc: BaseException) -> int:
    print(f"poq: {exc}", file=sys.stderr)
    return 2


def _run_inference(args: argparse.Namespace) -> int:
    from node import inference
    from poq.options import eth_to_wei
    from oracle.pipeline.models import load_model

    try:
        _, daemon = open_daemon(args, "inference")
    except setup_errors() as exc:
        return fail(exc)
    from oracle.pipeline.backends.base import BackendError

    daemon.log.info("loading model %s", args.model)
    try:
        backend = load_model(args.model, **({"n_threads": args.threads} if args.threads else {}))
    except (BackendError, ValueError) as exc:  # ModelFileError, UnknownModelError: the weights, not a bug
        return fail(exc)
    try:
        inference.run(daemon, backend, args.model, args.max_new_tokens,
                      **({"min_slot_share": eth_to_wei(args.min_slot_share_eth)} if args.min_slot_share_eth else {}))
    finally:
        backend.close()
    return 0


def _run_evaluator(args: argparse.Namespace) -> int:
    from node import evaluator
    from oracle.pipeline.quality import load_evaluator

    try:
        _, daemon = open_daemon(args, "evaluator")
    except setup_errors() as exc:
        return fail(exc)
    daemon.log.info("loading evaluator %s", args.evaluator)
    ev = load_evaluator(args.evaluator)
    try:
        evaluator.run(daemon, ev, args.evaluator)
    finally:
        ev.close()
    return 0
