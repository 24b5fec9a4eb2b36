"""``poq payouts``: who earned what, from the chain's events alone.

Per node: rounds paid in, mean quality (inference) or agreement (evaluator),
mean normalised cost, mean reward, total paid, compensation, slashes. Per
round: every payout, compensation from a forfeited pool (a withheld reference,
or nobody scored), slash (a silent committer or an absent committee member),
and the requester's refund, and whether all of it equals the Python reference
model recomputed from the round's revealed data. ``--json`` prints the same as
JSON (amounts in wei).
"""

from __future__ import annotations

import argparse
import json

from poq.chain_args import add_chain_args, fail, setup_errors


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("payouts", help="per-node and per-round payouts and slashes, read from the chain",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_chain_args(p)
    p.add_argument("--json", action="store_true", help="print JSON instead of tables")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from oracle.chain.deployment import Deployment
    from oracle.chain.payouts import collect
    from poq.options import console
    from poq.tables import render

    try:
        deployment = Deployment.load(args.deployment)
        client = deployment.connect(args.rpc)
    except setup_errors() as exc:
        return fail(exc)
    data = collect(client, deployment)
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        render(data, console())
    return 1 if any(r.get("matches_reference_model") is False for r in data["rounds"]) else 0
