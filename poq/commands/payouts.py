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

from poq.commands.node import add_chain_args, fail, setup_errors


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("payouts", help="per-node and per-round payouts and slashes, read from the chain",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_chain_args(p)
    p.add_argument("--json", action="store_true", help="print JSON instead of tables")
    p.set_defaults(func=run)


def collect(client, deployment) -> dict:
    """Everything ``poq payouts`` shows, as plain data (amounts in wei, WAD values as floats)."""
    from oracle.chain.ledger import build_rounds, check_against_reference, node_summary, stakes_at_settlement

    events = client.events(deployment.deploy_block)
    rounds = build_rounds(events)
    stakes = stakes_at_settlement(events)
    names = deployment.names()
    # Each round settles under the parameter version it opened with (the owner may have set new ones since).
    params = {v: client.params(v) for v in {r.params_version for r in rounds.values() if r.settled}}
    roles = {a.address: a.role for a in deployment.accounts}
    nodes = [{"node": names.get(addr, addr), "address": addr, **summary,
              "role": summary["role"] if summary["role"] != "unpaid" else roles.get(addr, "unpaid")}
             for addr, summary in sorted(node_summary(rounds).items(), key=lambda kv: names.get(kv[0], kv[0]))]
    out_rounds = []
    for r in sorted(rounds.values(), key=lambda r: r.round_id):
        entry = {"round": r.round_id, "kind": r.kind, "stage": r.stage, "budget_wei": r.budget,
                 "paid_wei": r.paid, "refund_wei": r.refund,
                 "inference": [{"node": names.get(p["node"], p["node"]), "quality": p["quality"] / 1e18,
                                "cost": p["cost"] / 1e18, "reward": p["reward"] / 1e18, "amount_wei": p["amount"]}
                               for p in r.inference_paid],
                 "evaluators": [{"node": names.get(p["node"], p["node"]), "agreement": p["agreement"] / 1e18,
                                 "cost": p["cost"] / 1e18, "reward": p["reward"] / 1e18,
                                 "amount_wei": p["amount"]} for p in r.evaluator_paid],
                 "slashes": [{"node": names.get(s["node"], s["node"]), "amount_wei": s["amount"]}
                             for s in r.slashes],
                 "compensation": [{"node": names.get(c["node"], c["node"]), "amount_wei": c["amount"]}
                                  for c in r.compensation],
                 "reference_withheld": r.reference_withheld}
        if r.settled:
            # Payouts, slashes, compensation, paid and refund, each against the model, to the wei.
            problems = check_against_reference(r, params[r.params_version], stakes[r.round_id])
            entry["matches_reference_model"] = not problems
            if problems:
                entry["reference_model_differences"] = problems
        out_rounds.append(entry)
    return {"contract": client.address, "chain_id": client.chain_id, "nodes": nodes, "rounds": out_rounds}


def render(data: dict, console) -> None:
    """The payout tables (nodes, payouts by round, rounds) on a rich console."""
    from rich.table import Table

    def wad(x: float) -> str:
        return f"{x:.3f}"

    def eth(wei: int | None) -> str:
        return "" if wei is None else f"{wei / 1e18:.6f}"

    from poq.options import name_column

    every_name = [n["node"] for n in data["nodes"]] + [
        p["node"] + {"slashes": " slashed", "compensation": " compensated"}.get(k, "")
        for r in data["rounds"] for k in ("inference", "evaluators", "slashes", "compensation") for p in r[k]]
    nodes = Table(title=f"Nodes of PoQ {data['contract']} (chain {data['chain_id']})")
    name_column(nodes, "node", every_name)
    name_column(nodes, "role", [n["role"] for n in data["nodes"]])
    for col in ("rounds", "quality/agreement", "cost", "reward", "paid ETH", "slashed ETH"):
        nodes.add_column(col, justify="right")
    for n in data["nodes"]:
        slashed = f"{eth(n['slashed_wei'])} ({n['slashes']})" if n["slashes"] else "0"
        paid = eth(n["paid_wei"]) + (f" (+{eth(n['compensated_wei'])} compensation)" if n["compensated_wei"] else "")
        nodes.add_row(n["node"], n["role"], str(n["rounds"]), wad(n["mean_score"]), wad(n["mean_cost"]),
                      wad(n["mean_reward"]), paid, slashed)
    console.print(nodes)

    payouts = Table(title="Payouts by round")
    payouts.add_column("round", justify="right")
    name_column(payouts, "node", every_name)
    for col in ("quality/agreement", "cost", "reward", "paid ETH"):
        payouts.add_column(col, justify="right")
    for r in data["rounds"]:
        for p in r["inference"]:
            payouts.add_row(str(r["round"]), p["node"], wad(p["quality"]), wad(p["cost"]), wad(p["reward"]),
                            eth(p["amount_wei"]))
        for p in r["evaluators"]:
            payouts.add_row(str(r["round"]), p["node"], wad(p["agreement"]), wad(p["cost"]), wad(p["reward"]),
                            eth(p["amount_wei"]))
        for c in r["compensation"]:
            payouts.add_row(str(r["round"]), f"[yellow]{c['node']} compensated[/yellow]", "", "", "",
                            f"[yellow]+{eth(c['amount_wei'])}[/yellow]")
        for sl in r["slashes"]:
            payouts.add_row(str(r["round"]), f"[red]{sl['node']} slashed[/red]", "", "", "",
                            f"[red]-{eth(sl['amount_wei'])}[/red]")
    console.print(payouts)

    rounds = Table(title="Rounds")
    for col in ("round", "kind", "stage", "budget ETH", "paid ETH", "refund ETH", "= reference model"):
        rounds.add_column(col, justify="left" if col in ("kind", "stage") else "right")
    for r in data["rounds"]:
        check = {True: "[green]yes[/green]", False: "[red]NO[/red]"}.get(r.get("matches_reference_model"), "")
        rounds.add_row(str(r["round"]), r["kind"], r["stage"], eth(r["budget_wei"]), eth(r["paid_wei"]),
                       eth(r["refund_wei"]), check)
    console.print(rounds)


def run(args: argparse.Namespace) -> int:
    from poq.options import console
    from oracle.chain.deployment import Deployment

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
