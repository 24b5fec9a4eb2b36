"""Who earned what, from the chain's events alone: the data behind ``poq payouts``.

Per node: rounds paid in, mean quality (inference) or agreement (evaluator),
mean normalised cost, mean reward, total paid, compensation, slashes. Per
round: every payout, compensation from a forfeited pool (a withheld reference,
or nobody scored), slash (a silent committer or an absent committee member),
the requester's refund, and whether all of it equals the Python reference
model recomputed from the round's revealed data. Amounts are wei; WAD values
are floats.
"""

from __future__ import annotations

from oracle.chain.client import PoQClient
from oracle.chain.deployment import Deployment
from oracle.chain.ledger import build_rounds, check_against_reference, node_summary, stakes_at_settlement


def collect(client: PoQClient, deployment: Deployment) -> dict:
    """Everything ``poq payouts`` shows for ``deployment``, as plain data (amounts in wei, WAD values as floats)."""
    return collect_since(client, deployment.deploy_block, deployment.names(),
                         {a.address: a.role for a in deployment.accounts})


def collect_since(client: PoQClient, from_block: int, names: dict[str, str], roles: dict[str, str]) -> dict:
    """The same for every round since ``from_block``, with accounts named by ``names`` in ``roles``."""
    events = client.events(from_block)
    rounds = build_rounds(events)
    stakes = stakes_at_settlement(events)
    # Each round settles under the parameter version it opened with (the owner may have set new ones since).
    params = {v: client.params(v) for v in {r.params_version for r in rounds.values() if r.settled}}
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
