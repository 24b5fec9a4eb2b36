"""``poq devnet up|down``: a local Anvil with PoQ deployed and the nodes registered (``oracle.chain.devnet``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from oracle.chain import devnet
from oracle.chain.devnet import DEFAULT_STATE_DIR, down, up
from poq.options import int_range, non_negative_int, positive_float
from poq.options import port as tcp_port


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("devnet", help="start/stop a local Anvil with PoQ deployed and nodes registered",
                       description=devnet.__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    up_p = actions.add_parser("up", help="start Anvil, deploy PoQ, register nodes, write the deployment file")
    up_p.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR,
                      help="folder for the deployment file, keystores, stores and logs (default .poq)")
    up_p.add_argument("--inference", type=non_negative_int, default=2, help="inference nodes to register (default 2)")
    up_p.add_argument("--evaluators", type=non_negative_int, default=3, help="evaluator nodes to register (default 3)")
    up_p.add_argument("--port", type=tcp_port, default=None, help="Anvil's port (default: a free one)")
    up_p.add_argument("--block-time", type=positive_float, default=1.0,
                      help="seconds between interval-mined blocks; deadlines are in blocks (default 1)")
    up_p.add_argument("--window", type=int_range(1, 2**32 - 1), default=None,
                      help="blocks in every stage window (default: oracle.protocol.params.Params)")
    up_p.add_argument("--commit-window", type=int_range(1, 2**32 - 1), default=None,
                      help="blocks in the output commit window, where models run (default: --window)")
    up_p.set_defaults(func=_up)
    down_p = actions.add_parser("down", help="stop the devnet's Anvil")
    down_p.add_argument("--deployment", type=Path, default=DEFAULT_STATE_DIR / "deployment.json")
    down_p.set_defaults(func=_down)


def _up(args: argparse.Namespace) -> int:
    try:
        up(args.state_dir, args.inference, args.evaluators, args.port, args.block_time, args.window,
           args.commit_window)
    except (RuntimeError, TimeoutError, ValueError) as exc:  # already up, Anvil would not start, bad window
        print(f"poq: {exc}", file=sys.stderr)
        return 2
    return 0


def _down(args: argparse.Namespace) -> int:
    down(args.deployment)
    return 0
