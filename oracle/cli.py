"""``poq``: the command line. Each subcommand lives in its own module.

A module listed in ``COMMANDS`` exposes ``register(subparsers)``, which adds
its parser and sets ``func``; modules import lazily so ``poq --help`` is fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# (module, what it does) in the order --help lists them.
COMMANDS = [
    ("oracle.commands.demo", "deploy to a local Anvil and play one complete round"),
    ("oracle.commands.simulate", "Monte Carlo of PoQ rounds drawn from a recorded profile"),
    ("oracle.commands.eval", "profile models and evaluators: quality, cost, correlations"),
    ("oracle.commands.explorer", "serve a local explorer of rounds, nodes and payouts read from the chain"),
    ("oracle.commands.run", "the main job: a devnet, the oracle and real node daemons for a few rounds"),
    ("oracle.commands.devnet", "start/stop a local Anvil with PoQ deployed and nodes registered"),
    ("oracle.commands.node", "run an inference or evaluator node daemon"),
    ("oracle.commands.requester", "run the requester (poq oracle): open rounds, reveal, advance, settle"),
    ("oracle.commands.payouts", "per-node and per-round payouts and slashes, from the chain"),
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="poq",
        description="Cost-aware Proof of Quality for decentralized LLM inference.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module, _ in COMMANDS:
        importlib.import_module(module).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
