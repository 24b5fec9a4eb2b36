"""Rounds and payouts rebuilt from the chain's events alone.

``poq payouts``, the explorer and the end-to-end tests read the chain through
this module, and ``round_input`` turns a round's revealed data back into the
reference model's input, so any settled round can be re-checked to the wei.

The events carry what each node attested, not what it was normalised to: the
normalised costs come from ``oracle.protocol.reward.normalised_cost`` under the round's
own parameter version (``PoQClient.params(version)``). A round's outputs are
kept in ascending address order, the order of every score list and of
``settle``'s lists, whatever order the reveals came in.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from oracle.protocol.params import Params, Role, Stage
from oracle.protocol.reward import Cost, Evaluation, Output, RoundInput, normalised_cost

ZERO32 = b"\x00" * 32

# What ``build_rounds`` may be given to normalise costs: ``PoQClient.params``, or {version: Params}.
ParamsOf = Callable[[int], Params] | Mapping[int, Params]


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
    task_hash: bytes = ZERO32
    reference_commitment: bytes = ZERO32
    stage: str = Stage.COMMIT.label
    committed: list[str] = field(default_factory=list)
    # Revealed outputs in ascending node address (the score-index order); ``index`` is the position.
    outputs: list[dict] = field(default_factory=list)
    reference: str | None = None
    committee: list[str] = field(default_factory=list)  # draw order (ascending draw key), as CommitteeDrawn lists it
    score_commits: list[str] = field(default_factory=list)
    scores: dict[str, dict] = field(default_factory=dict)
    inference_paid: list[dict] = field(default_factory=list)
    evaluator_paid: list[dict] = field(default_factory=list)
    slashes: list[dict] = field(default_factory=list)
    # Shares of forfeited pools (a withheld reference, or nobody scored), in the order settle credited them.
    compensation: list[dict] = field(default_factory=list)
    paid: int | None = None
    refund: int | None = None
    txs: list[dict] = field(default_factory=list)
    # Where each commit landed, by node: {"tx", "block"} (the explorer links every action to its transaction).
    commit_txs: dict[str, dict] = field(default_factory=dict)
    score_commit_txs: dict[str, dict] = field(default_factory=dict)
    settled_block: int | None = None

    @property
    def budget(self) -> int:
        return self.inference_pool + self.evaluator_pool

    @property
    def settled(self) -> bool:
        return self.paid is not None

    @property
    def has_reference(self) -> bool:
        """The requester committed to a reference answer when it opened the round."""
        return bytes(self.reference_commitment) != ZERO32

    @property
    def reference_withheld(self) -> bool:
        """The round had outputs and a committed reference that was never revealed (the contract's rule).

        Final once the Reference stage has closed; the requester then forfeits the unpaid pools.
        """
        return self.has_reference and self.reference is None and bool(self.outputs) and \
            Stage.of_label(self.stage) > Stage.REFERENCE

    @property
    def absent(self) -> list[str]:
        """Drawn committee members that never committed (meaningful once ScoreCommit has closed)."""
        return [m for m in self.committee if m not in self.score_commits]

    def slash_reason(self, node: str) -> str | None:
        """Why ``node`` was slashed in this round, in words (None if it was not)."""
        if not any(s["node"] == node for s in self.slashes):
            return None
        if node in self.committee and node not in self.score_commits:
            return "absent: drawn and never committed"
        return "committed and never revealed"

    def compensated(self, node: str) -> int:
        """Wei ``node`` got from forfeited pools in this round."""
        return sum(c["amount"] for c in self.compensation if c["node"] == node)


def _cost_tuple(cost) -> tuple[int, int, int]:
    """A decoded ``RewardMath.Cost`` (web3 decodes structs to dicts) as (latency ms, tokens, memory MB)."""
    return (cost["latencyMs"], cost["tokens"], cost["memoryMb"])



def by_address(addresses) -> list[str]:
    """Ascending numeric address order (``oracle.chain.client.by_address``)."""
    return sorted(addresses, key=lambda a: int(a, 16))


def _params_lookup(params: ParamsOf | None) -> Callable[[int], Params] | None:
    if params is None or callable(params):
        return params
    return params.__getitem__


def build_rounds(events: list[dict], params: ParamsOf | None = None) -> dict[int, RoundRecord]:
    """Fold decoded PoQ events (``PoQClient.events()``) into one record per round.

    Given ``params`` (``PoQClient.params``, or a mapping of version to ``Params``), every revealed
    output and scorecard also gets its ``normalised_cost`` under the round's parameter version, as
    the contract computes it at settlement; without it the records hold the attested costs only.
    """
    params_of = _params_lookup(params)
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
            r.task_hash, r.reference_commitment = bytes(a["taskHash"]), bytes(a["referenceCommitment"])
        elif name == "StageChanged":
            r.stage = Stage(a["stage"]).label
        elif name == "OutputCommitted":
            r.committed.append(a["node"])
            r.commit_txs[a["node"]] = {"tx": ev["tx"], "block": ev["block"]}
        elif name == "OutputRevealed":
            r.outputs.append({"node": a["node"], "output": a["output"], "cost": _cost_tuple(a["cost"]),
                              "tx": ev["tx"], "block": ev["block"]})
            r.outputs.sort(key=lambda o: int(o["node"], 16))
            for i, o in enumerate(r.outputs):
                o["index"] = i
        elif name == "ReferenceRevealed":
            r.reference = a["referenceAnswer"]
        elif name == "CommitteeDrawn":
            r.committee = list(a["members"])
        elif name == "ScoresCommitted":
            r.score_commits.append(a["evaluator"])
            r.score_commit_txs[a["evaluator"]] = {"tx": ev["tx"], "block": ev["block"]}
        elif name == "ScoresRevealed":
            r.scores[a["evaluator"]] = {"scores": tuple(a["scores"]), "cost": _cost_tuple(a["cost"]),
                                        "tx": ev["tx"], "block": ev["block"]}
        elif name == "InferencePaid":
            r.inference_paid.append({"node": a["node"], "quality": a["quality"], "cost": a["cost"],
                                     "reward": a["reward"], "amount": a["amount"], "tx": ev["tx"],
                                     "block": ev["block"]})
        elif name == "EvaluatorPaid":
            r.evaluator_paid.append({"node": a["evaluator"], "agreement": a["agreement"], "cost": a["cost"],
                                     "reward": a["reward"], "amount": a["amount"], "tx": ev["tx"],
                                     "block": ev["block"]})
        elif name == "Slashed":
            r.slashes.append({"node": a["node"], "amount": a["amount"], "tx": ev["tx"], "block": ev["block"]})
        elif name == "Compensated":
            r.compensation.append({"node": a["node"], "amount": a["amount"], "tx": ev["tx"],
                                   "block": ev["block"]})
        elif name == "RoundSettled":
            r.paid, r.refund = a["paid"], a["refund"]
            r.stage = Stage.SETTLED.label
            r.settled_block = ev["block"]
    if params_of is not None:
        for r in rounds.values():
            if not r.params_version:
                continue  # its RoundOpened lies before the events read
            p = params_of(r.params_version)
            for o in r.outputs:
                o["normalised_cost"] = normalised_cost(Cost(*o["cost"]), p.inference_cost)
            for s in r.scores.values():
                s["normalised_cost"] = normalised_cost(Cost(*s["cost"]), p.evaluator_cost)
    return rounds


def round_input(r: RoundRecord, params: Params, stakes: dict[str, int] | None = None) -> RoundInput:
    """The reference model's input for a round, from its revealed data alone.

    ``params`` is the round's parameter version (the cost models normalise the attested costs).
    Outputs, silent committers and committee members go in ascending address order, as ``settle``
    takes them; a member is ``committed`` if it sent ``commitScores``.
    """
    revealed = {o["node"] for o in r.outputs}
    outputs = by_address(revealed)
    costs = {o["node"]: o["cost"] for o in r.outputs}
    return RoundInput(
        budget=r.budget,
        slots=r.slots,
        committee_size=r.committee_size,
        outputs=tuple(Output(n, normalised_cost(Cost(*costs[n]), params.inference_cost)) for n in outputs),
        committee=tuple(
            Evaluation(m, m in r.score_commits,
                       r.scores[m]["scores"] if m in r.scores else None,
                       normalised_cost(Cost(*r.scores[m]["cost"]), params.evaluator_cost) if m in r.scores else 0)
            for m in by_address(r.committee)),
        unrevealed_committers=tuple(by_address(set(r.committed) - revealed)),
        stakes=stakes or {},
        reference_withheld=r.reference_withheld,
    )


def node_summary(rounds: dict[int, RoundRecord]) -> dict[str, dict]:
    """Per node: rounds, mean quality (inference) or agreement (evaluator), mean cost and reward, total paid,
    slashes.

    ``paid_wei`` is every payout (``InferencePaid``/``EvaluatorPaid``); ``compensated_wei`` what the node got
    on top from forfeited pools (``Compensated``), so a node was credited ``paid_wei + compensated_wei``.
    """
    acc: dict[str, dict] = defaultdict(lambda: {"role": "", "rounds": 0, "score_sum": 0, "cost_sum": 0,
                                                "reward_sum": 0, "paid": 0, "compensated": 0, "slashed": 0,
                                                "slashes": 0})
    for r in rounds.values():
        for role, paid, score in (("inference", r.inference_paid, "quality"),
                                  ("evaluator", r.evaluator_paid, "agreement")):
            for p in paid:
                s = acc[p["node"]]
                s["role"] = role
                s["rounds"] += 1
                s["score_sum"] += p[score]
                s["cost_sum"] += p["cost"]
                s["reward_sum"] += p["reward"]
                s["paid"] += p["amount"]
        for c in r.compensation:
            acc[c["node"]]["compensated"] += c["amount"]
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
                     "compensated_wei": s["compensated"], "slashed_wei": s["slashed"], "slashes": s["slashes"]}
    return out


SETTLEMENT_EVENTS = ("InferencePaid", "EvaluatorPaid", "Compensated", "Slashed", "RoundSettled")


def stakes_at_settlement(events: list[dict]) -> dict[int, dict[str, int]]:
    """Per settled round, every node's stake as its settlement found it (what a slash is capped at).

    ``events`` must start at the deploy block, where the nodes registered. Folds ``NodeRegistered``,
    ``StakeAdded``, ``ExitCompleted`` and ``Slashed`` in chain order; a round's snapshot is taken at the
    first event its settlement emitted, before its own slashes. A node staked at ``min_stake`` and
    slashed in several rounds (as a silent committer or an absent committee member) runs out of stake,
    and the contract slashes what is left: the reference model needs these stakes to agree.
    """
    stake: dict[str, int] = {}
    snapshots: dict[int, dict[str, int]] = {}
    for ev in events:
        name, a = ev["event"], ev["args"]
        if name in SETTLEMENT_EVENTS and a["roundId"] not in snapshots:
            snapshots[a["roundId"]] = dict(stake)
        if name in ("NodeRegistered", "StakeAdded"):
            stake[a["node"]] = a["stake"]
        elif name == "ExitCompleted":
            stake[a["node"]] = 0
        elif name == "Slashed":
            stake[a["node"]] -= a["amount"]
    return snapshots


def check_against_reference(r: RoundRecord, params: Params, stakes: dict[str, int] | None = None) -> list[str]:
    """Differences between a settled round's events and the reference model (empty list = equal).

    ``params`` must be the round's own parameter version; payouts, slashes (silent committers and absent
    members), compensation from forfeited pools, paid and refund are all compared, to the wei.
    """
    from oracle.protocol.reward import settle

    expected = settle(round_input(r, params, stakes), params)
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
    got_comp = [(c["node"], c["amount"]) for c in r.compensation]
    if got_comp != list(expected.compensation):
        problems.append(f"round {r.round_id} compensation: chain {got_comp} != model {list(expected.compensation)}")
    return problems


@dataclass
class AccountRecord:
    """What the events say about one address outside rounds: registration, stake moves, exit, withdrawals.

    ``history`` holds one entry per event, in chain order, each with its ``event`` name, ``tx`` and ``block``.
    """

    address: str
    role: str = ""
    withdrawn: int = 0
    history: list[dict] = field(default_factory=list)

    @property
    def withdrawals(self) -> list[dict]:
        return [h for h in self.history if h["event"] == "Withdrawn"]


def build_accounts(events: list[dict]) -> dict[str, AccountRecord]:
    """Fold the node and payment events (``NodeRegistered`` ... ``Withdrawn``) into one record per address."""
    accounts: dict[str, AccountRecord] = {}
    for ev in events:
        name, a = ev["event"], ev["args"]
        if name == "NodeRegistered":
            entry = {"role": Role(a["role"]).name.lower(), "stake": a["stake"]}
        elif name == "StakeAdded":
            entry = {"amount": a["amount"], "stake": a["stake"]}
        elif name == "ExitRequested":
            entry = {"exitable_at": a["exitableAt"]}
        elif name == "ExitCompleted":
            entry = {"stake": a["stake"]}
        elif name == "Withdrawn":
            entry = {"amount": a["amount"]}
        else:
            continue
        address = a["account"] if name == "Withdrawn" else a["node"]
        rec = accounts.setdefault(address, AccountRecord(address))
        if name == "NodeRegistered":
            rec.role = entry["role"]
        elif name == "Withdrawn":
            rec.withdrawn += a["amount"]
        rec.history.append({"event": name, **entry, "tx": ev["tx"], "block": ev["block"]})
    return accounts


def group_summary(summary: dict[str, dict], label_of: dict[str, str]) -> dict[str, dict]:
    """``node_summary`` rows merged by label (the model a node serves; its address when unlabelled).

    Means are weighted by each node's rounds, so a group's mean is the mean over all its nodes' rounds;
    wei amounts are summed exactly.
    """
    groups: dict[str, dict] = {}
    for node, row in summary.items():
        label = label_of.get(node, node)
        g = groups.setdefault(label, {"nodes": [], "roles": [], "rounds": 0, "score_sum": 0.0, "cost_sum": 0.0,
                                      "reward_sum": 0.0, "paid_wei": 0, "slashed_wei": 0, "slashes": 0})
        g["nodes"].append(node)
        if row["role"] not in g["roles"]:
            g["roles"].append(row["role"])
        g["rounds"] += row["rounds"]
        g["score_sum"] += row["mean_score"] * row["rounds"]
        g["cost_sum"] += row["mean_cost"] * row["rounds"]
        g["reward_sum"] += row["mean_reward"] * row["rounds"]
        for key in ("paid_wei", "slashed_wei", "slashes"):
            g[key] += row[key]
    out = {}
    for label, g in groups.items():
        n = max(g["rounds"], 1)
        out[label] = {"nodes": g["nodes"], "role": "/".join(g["roles"]), "rounds": g["rounds"],
                      "mean_score": g["score_sum"] / n, "mean_cost": g["cost_sum"] / n,
                      "mean_reward": g["reward_sum"] / n, "paid_wei": g["paid_wei"],
                      "slashed_wei": g["slashed_wei"], "slashes": g["slashes"]}
    return out
