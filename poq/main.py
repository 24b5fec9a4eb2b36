"""``poq``: the command line. Each subcommand lives in its own module.

A module listed in ``COMMANDS`` exposes ``register(subparsers)``, which adds
its parser and sets ``func``; modules import lazily so ``poq --help`` is fast.

Options are validated as they are parsed (``poq.options``). A
user's mistake found later (a missing file, a deployment that does not match
the chain...) is raised as a user error (``oracle.errors``) and printed as one
line, ``poq: <message>``, with exit code 2; ``--debug`` adds the traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

# (module, what it does) in the order --help lists them.
COMMANDS = [
    ("poq.commands.demo", "deploy to a local Anvil and play one complete round"),
    ("poq.commands.simulate", "Monte Carlo of PoQ rounds drawn from a recorded profile"),
    ("poq.commands.sweep", "a parameter grid over the network model, on local cores or Ray"),
    ("poq.commands.incentives", "which deviations pay under today's contract, and what would stop them"),
    ("poq.commands.collusion", "collusion curves: a colluding evaluator group's gain against its share"),
    ("poq.commands.network", "a population with per-node stakes, the contract drawing committees"),
    ("poq.commands.trust", "evaluator trust rules under a group of copiers: consensus vs probes"),
    ("poq.commands.eval", "profile models and evaluators: quality, cost, correlations"),
    ("poq.commands.paper", "the paper's figures beside this project's, from a recorded profile"),
    ("poq.commands.explorer", "serve a local explorer of rounds, nodes and payouts read from the chain"),
    ("poq.commands.run", "the main job: a devnet, the requester and real node daemons for a few rounds"),
    ("poq.commands.devnet", "start/stop a local Anvil with PoQ deployed and nodes registered"),
    ("poq.commands.node", "run an inference or evaluator node daemon"),
    ("poq.commands.requester", "run the requester: open rounds, reveal, advance, settle"),
    ("poq.commands.payouts", "per-node and per-round payouts and slashes, from the chain"),
]

DEBUG_HELP = "show the full traceback of an error (also: POQ_DEBUG=1)"


def _add_debug(parser: argparse.ArgumentParser) -> None:
    """``--debug`` on every subcommand too, so it may come before or after the command's name."""
    for action in parser._actions:  # argparse has no public walk over its subparsers
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                sub.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=DEBUG_HELP)
                _add_debug(sub)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="poq",
        description="Cost-aware Proof of Quality for decentralized LLM inference.",
    )
    parser.add_argument("--debug", action="store_true", default=os.environ.get("POQ_DEBUG", "") not in ("", "0"),
                        help=DEBUG_HELP)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module, _ in COMMANDS:
        importlib.import_module(module).register(sub)
    _add_debug(parser)
    return parser


def report_user_error(exc: BaseException, debug: bool) -> int:
    """One line on stderr for a user's mistake (the traceback first under ``--debug``); exit code 2."""
    from poq.errors import USAGE_EXIT

    if debug:
        import traceback

        traceback.print_exception(exc)
    print(f"poq: error: {str(exc) or exc.__class__.__name__}", file=sys.stderr)
    return USAGE_EXIT


def main(argv: list[str] | None = None) -> int:
    from poq.options import join_negative_values, value_options

    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(join_negative_values(argv, value_options(parser)))
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        from poq.errors import is_user_error

        if not is_user_error(exc):
            raise
        return report_user_error(exc, args.debug)


if __name__ == "__main__":
    sys.exit(main())
