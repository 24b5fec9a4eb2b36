"""Rounds and payouts rebuilt from the chain's events alone.

``poq payouts``, the explorer and the end-to-end tests read the chain through
this module, and ``round_input`` turns a round's revealed data back into the
reference model's input, so any settled round can be re-checked to the wei.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from oracle.params import Params
from oracle.reward import Evaluation, Output, RoundInput


@dataclass
class RoundRecord:
    """Everything the events say about one round."""

    round_id: int
    requester: str = ""
    kind: str = ""
    uri: str = ""
    slots: int = 0
    committee_size: int = 0
    inference_pool: int = 0
    evaluator_pool: int = 0
    params_version: int = 0
    opened_block: int = 0
    stage: str = "Commit"
    committed: list[str] = field(default_factory=list)
    outputs: list[dict] = field(default_factory=list)  # reveal order
    reference: str | None = None
    committee: list[str] = field(default_factory=list)
    score_commits: list[str] = field(default_factory=list)
    scores: dict[str, dict] = field(default_factory=dict)
    inference_paid: list[dict] = field(default_factory=list)
    evaluator_paid: list[dict] = field(default_factory=list)
    slashes: list[dict] = field(default_factory=list)
    paid: int | None = None
    refund: int | None = None
    txs: list[dict] = field(default_factory=list)

    @property
    def budget(self) -> int:
        return self.inference_pool + self.evaluator_pool

    @property
    def settled(self) -> bool:
        return self.paid is not None


STAGE_NAMES = ["None", "Commit", "Reveal", "Reference", "ScoreCommit", "ScoreReveal", "Settleable", "Settled"]


def build_rounds(events: list[dict]) -> dict[int, RoundRecord]:
    """Fold decoded PoQ events (``PoQClient.events()``) into one record per round."""
    rounds: dict[int, RoundRecord] = {}
    for ev in events:
        a = ev["args"]
        if "roundId" not in a:
            continue
        rid = a["roundId"]
        r = rounds.setdefault(rid, RoundRecord(rid))
        name = ev["event"]
        r.txs.append({"event": name, "tx": ev["tx"], "block": ev["block"]})
        if name == "RoundOpened":
            r.requester, r.kind, r.uri = a["requester"], a["kind"], a["uri"]
            r.slots, r.committee_size = a["slots"], a["committeeSize"]
            r.inference_pool, r.evaluator_pool = a["inferencePool"], a["evaluatorPool"]
            r.params_version, r.opened_block = a["paramsVersion"], ev["block"]
        elif name == "StageChanged":
            r.stage = STAGE_NAMES[a["stage"]]
        elif name == "OutputCommitted":
            r.committed.append(a["node"])
        elif name == "OutputRevealed":
            r.outputs.append({"node": a["node"], "index": a["index"], "output": a["output"],
                              "cost": tuple(a["cost"]), "normalised_cost": a["normalisedCost"],
                              "tx": ev["tx"], "block": ev["block"]})
        elif name == "ReferenceRevealed":
            r.reference = a["referenceAnswer"]
        elif name == "CommitteeDrawn":
            r.committee = list(a["members"])
        elif name == "ScoresCommitted":
            r.score_commits.append(a["evaluator"])
        elif name == "ScoresRevealed":
            r.scores[a["evaluator"]] = {"scores": tuple(a["scores"]), "cost": tuple(a["cost"]),
                                        "normalised_cost": a["normalisedCost"], "tx": ev["tx"],
                                        "block": ev["block"]}
        elif name == "InferencePaid":
            r.inference_paid.append({"node": a["node"], "quality": a["quality"], "cost": a["cost"],
                                     "reward": a["reward"], "amount": a["amount"], "tx": ev["tx"]})
        elif name == "EvaluatorPaid":
            r.evaluator_paid.append({"node": a["evaluator"], "agreement": a["agreement"], "cost": a["cost"],
                                     "reward": a["reward"], "amount": a["amount"], "tx": ev["tx"]})
        elif name == "Slashed":
            r.slashes.append({"node": a["node"], "amount": a["amount"], "tx": ev["tx"]})
        elif name == "RoundSettled":
            r.paid, r.refund = a["paid"], a["refund"]
            r.stage = "Settled"
    return rounds


def round_input(r: RoundRecord, stakes: dict[str, int] | None = None) -> RoundInput:
    """The reference model's input for a round, from its revealed data alone."""
    revealed = {o["node"] for o in r.outputs}
    return RoundInput(
        budget=r.budget,
        slots=r.slots,
        committee_size=r.committee_size,
        outputs=tuple(Output(o["node"], o["normalised_cost"]) for o in r.outputs),
        committee=tuple(
            Evaluation(m, m in r.score_commits,
                       r.scores[m]["scores"] if m in r.scores else None,
                       r.scores[m]["normalised_cost"] if m in r.scores else 0)
            for m in r.committee),
        unrevealed_committers=tuple(n for n in r.committed if n not in revealed),
        stakes=stakes or {},
    )


def node_summary(rounds: dict[int, RoundRecord]) -> dict[str, dict]:
    """Per node: rounds, mean quality (inference) or agreement (evaluator), mean cost and reward, total paid, slashes."""
    acc: dict[str, dict] = defaultdict(lambda: {"role": "", "rounds": 0, "score_sum": 0, "cost_sum": 0,
                                                "reward_sum": 0, "paid": 0, "slashed": 0, "slashes": 0})
    for r in rounds.values():
        for p in r.inference_paid:
            s = acc[p["node"]]
            s["role"] = "inference"
            s["rounds"] += 1
            s["score_sum"] += p["quality"]
            s["cost_sum"] += p["cost"]
            s["reward_sum"] += p["reward"]
            s["paid"] += p["amount"]
        for p in r.evaluator_paid:
            s = acc[p["node"]]
            s["role"] = "evaluator"
            s["rounds"] += 1
            s["score_sum"] += p["agreement"]
            s["cost_sum"] += p["cost"]
            s["reward_sum"] += p["reward"]
            s["paid"] += p["amount"]
        for sl in r.slashes:
            s = acc[sl["node"]]
            s["slashed"] += sl["amount"]
            s["slashes"] += 1
    out = {}
    for node, s in acc.items():
        n = max(s["rounds"], 1)
        out[node] = {"role": s["role"] or "unpaid", "rounds": s["rounds"],
                     "mean_score": s["score_sum"] / n / 1e18, "mean_cost": s["cost_sum"] / n / 1e18,
                     "mean_reward": s["reward_sum"] / n / 1e18, "paid_wei": s["paid"],
                     "slashed_wei": s["slashed"], "slashes": s["slashes"]}
    return out


def check_against_reference(r: RoundRecord, params: Params, stakes: dict[str, int] | None = None) -> list[str]:
    """Differences between a settled round's paid events and the reference model (empty list = equal)."""
    from oracle.reward import settle

    expected = settle(round_input(r, stakes), params)
    problems = []
    got_inf = [(p["node"], p["quality"], p["cost"], p["reward"], p["amount"]) for p in r.inference_paid]
    want_inf = [(p.node, p.quality, p.cost, p.reward, p.amount) for p in expected.inference]
    if got_inf != want_inf:
        problems.append(f"round {r.round_id} inference payouts: chain {got_inf} != model {want_inf}")
    got_ev = [(p["node"], p["agreement"], p["cost"], p["reward"], p["amount"]) for p in r.evaluator_paid]
    want_ev = [(p.node, p.agreement, p.cost, p.reward, p.amount) for p in expected.evaluators]
    if got_ev != want_ev:
        problems.append(f"round {r.round_id} evaluator payouts: chain {got_ev} != model {want_ev}")
    if (r.paid, r.refund) != (expected.paid, expected.refund):
        problems.append(f"round {r.round_id} paid/refund: chain {(r.paid, r.refund)} != "
                        f"model {(expected.paid, expected.refund)}")
    got_sl = [(s["node"], s["amount"]) for s in r.slashes]
    if got_sl != list(expected.slashes):
        problems.append(f"round {r.round_id} slashes: chain {got_sl} != model {list(expected.slashes)}")
    return problems
