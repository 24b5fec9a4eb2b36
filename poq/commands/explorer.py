"""``poq explorer``: a local block-explorer page and JSON API for one PoQ deployment's payouts.

Rounds with their stage, budget and payouts; each round's commits, reveals,
committee, scores, costs, quality, rewards and slashes, each with its
transaction and block; each node's stake, history, slashes and withdrawals; a
leaderboard per node and per model; a chart of payouts over rounds. Everything
is read from the chain (events and view calls), and the page follows new blocks
without a restart. ``--export-abi DIR`` writes the contract's ABI and metadata
for Otterscan, Blockscout or cast instead of serving. See docs/EXPLORER.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from poq.options import non_negative_int, port_or_zero, rpc_url

DEFAULT_PORT = 8700
DEFAULT_RPC = "http://127.0.0.1:8545"
# Seconds each RPC request may take: a stopped chain makes a request fail after this, not hang it.
RPC_TIMEOUT = 5.0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("explorer", help="serve a local explorer page and JSON API of rounds, nodes and payouts",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    where = p.add_argument_group("which deployment (the deployment file, or --address with --rpc)")
    where.add_argument("--deployment", type=Path, default=None,
                       help="deployment file written by `poq devnet up` (default .poq/deployment.json "
                            "when --address is not given)")
    where.add_argument("--rpc", type=rpc_url, default=None,
                       help=f"JSON-RPC URL (default: the deployment file's, or {DEFAULT_RPC} with --address)")
    where.add_argument("--address", default=None, help="PoQ contract address (instead of a deployment file)")
    where.add_argument("--from-block", type=non_negative_int, default=None,
                       help="first block to read events from (default: the deploy block, or 0 with --address)")
    p.add_argument("--model", action="append", default=[], metavar="NODE=MODEL",
                   help="group NODE (an account name from the deployment file, or an address) under MODEL in "
                        "the per-model leaderboard; repeat per node (the chain does not record models)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=port_or_zero, default=DEFAULT_PORT,
                   help=f"port (default {DEFAULT_PORT}; 0 picks a free one)")
    p.add_argument("--export-abi", type=Path, default=None, metavar="DIR",
                   help="write PoQ.abi.json and PoQ.metadata.json into DIR and exit, instead of serving")
    p.set_defaults(func=run)


def _connect(args: argparse.Namespace):
    """(client, from_block, deploy_block, names) for the deployment the arguments name."""
    from oracle.chain.client import PoQClient
    from oracle.chain.deployment import DEFAULT_PATH, Deployment

    if args.address is not None:
        if args.deployment is not None:
            raise ValueError("give either --deployment or --address, not both")
        client = PoQClient.connect(args.rpc or DEFAULT_RPC, args.address, timeout=RPC_TIMEOUT)
        return client, args.from_block or 0, args.from_block, {}
    deployment = Deployment.load(args.deployment or DEFAULT_PATH)
    client = deployment.connect(args.rpc, timeout=RPC_TIMEOUT)
    from_block = deployment.deploy_block if args.from_block is None else args.from_block
    return client, from_block, deployment.deploy_block, deployment.names()


def _models(pairs: list[str], names: dict[str, str]) -> dict[str, str]:
    """``--model NODE=MODEL`` options -> {address: model}; NODE is an account name or an address."""
    from eth_utils import is_address, to_checksum_address

    by_name = {name: address for address, name in names.items()}
    models = {}
    for pair in pairs:
        node, sep, model = pair.partition("=")
        if not sep or not model:
            raise ValueError(f"--model {pair!r}: expected NODE=MODEL, e.g. --model inference-0=smollm2-135m")
        if node in by_name:
            models[by_name[node]] = model
        elif is_address(node):
            models[to_checksum_address(node)] = model
        else:
            raise ValueError(f"--model {pair!r}: {node!r} is neither an account name of the deployment "
                             f"({', '.join(by_name) or 'none'}) nor an address")
    return models


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from oracle.chain.client import ChainError
    from oracle.explorer.abi import export
    from oracle.explorer.index import ChainIndex
    from oracle.explorer.server import ExplorerServer

    console = Console(stderr=True)
    if args.from_block is not None and args.from_block < 0:
        console.print(f"[red]--from-block {args.from_block} is negative: give a block number >= 0[/red]")
        return 2
    try:
        client, from_block, deploy_block, names = _connect(args)
        models = _models(args.model, names)
    except (ChainError, FileNotFoundError, ValueError) as exc:
        console.print(f"[red]{exc}[/red]")
        return 2
    if args.export_abi is not None:
        for path in export(client, deploy_block, args.export_abi):
            print(path)
        return 0

    index = ChainIndex(client, from_block, names=names, models=models)
    with console.status(f"reading PoQ events from block {from_block}"):
        head = index.refresh()
    try:
        server = ExplorerServer(index, args.host, args.port, deploy_block=deploy_block)
    except OSError as exc:
        console.print(f"[red]cannot listen on {args.host}:{args.port} ({exc.strerror}): "
                      "pass another --port, or --port 0 for a free one[/red]")
        return 2
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        console.print(f"[yellow]listening on {args.host}: other machines can reach this explorer[/yellow]")
    console.print(f"PoQ {client.address} on chain {client.chain_id}: {len(index.rounds)} rounds up to block {head}")
    print(f"explorer: {server.url}/  (API under {server.url}/api/, Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0

