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
