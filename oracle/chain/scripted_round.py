"""One PoQ round played through the contract, step by step, with given nodes.

The demo and the tests use this to drive a round whose outputs, costs and
scores are already decided (scripted); the daemons in ``node/`` make the same
calls, each on its own, as events arrive.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from eth_account.signers.local import LocalAccount
from web3.types import RPCEndpoint

from oracle.chain.client import PoQClient, TaskSpec, dev_account
from oracle.protocol.commitments import new_salt, output_commitment, reference_commitment, scores_commitment
from oracle.protocol.params import Role, Stage
from oracle.protocol.reward import Cost
from oracle.protocol.task import Task, task_digest, task_uri


@dataclass(frozen=True)
class ScriptedInference:
    account: LocalAccount
    output: str
    cost: Cost
    reveals: bool = True


# A scorer sees the revealed outputs (in score-index order: ascending node address) and the reference,
# and returns WAD scores.
Scorer = Callable[[Sequence[str], str | None], Sequence[int]]


@dataclass(frozen=True)
class ScriptedEvaluator:
    account: LocalAccount
    scorer: Scorer
    cost: Cost
    reveals: bool = True
    commits: bool = True  # False: drawn and absent (slashed unless the reference was withheld)


def register_scripted_inference(client: PoQClient, nodes: Sequence[tuple[str, str, tuple[int, int, int]]],
                                first_account: int, stake: int) -> tuple[list[ScriptedInference], dict[str, str]]:
    """Register ``nodes`` (name, answer, cost) as inference nodes on Anvil's development accounts from
    ``first_account`` on, staking ``stake``: the scripted nodes, and address -> name."""
    scripted: list[ScriptedInference] = []
    names: dict[str, str] = {}
    for i, (name, answer, cost) in enumerate(nodes, start=first_account):
        acct = dev_account(i)
        client.register(acct, Role.INFERENCE, stake)
        scripted.append(ScriptedInference(acct, answer, Cost(*cost)))
        names[acct.address] = name
    return scripted, names


def scripted_task(content: dict, kind: str) -> Task:
    """The ``Task`` of a scripted round from its ``id``, ``context`` and (QA) ``question``."""
    return Task(id=content.get("id", "scripted"), kind=kind, source="scripted", context=content["context"],
                question=content.get("question") if kind == "qa" else None, references=())


def play_scripted_round(client: PoQClient, requester: LocalAccount, task: dict, kind: str, reference: str | None,
                        inference: Sequence[ScriptedInference], evaluators: Sequence[ScriptedEvaluator],
                        budget: int, committee_size: int, slots: int | None = None,
                        reveal_reference: bool = True) -> int:
    """Open, commit, reveal, reference, score, settle one round; returns its id.

    ``reveal_reference=False`` plays a requester that commits to ``reference`` and withholds it: the
    scorers then get None for the reference.
    """
    onchain = scripted_task(task, kind)
    th = task_digest(onchain)
    ref_salt = new_salt()
    ref_commit = (reference_commitment(client.chain_id, client.address, requester.address, th, reference, ref_salt)
                  if reference is not None else b"\x00" * 32)
    uri = task_uri(onchain)
    spec = TaskSpec(th, uri, kind, slots or len(inference), committee_size, ref_commit)
    rid = client.open_round(requester, spec, budget)

    salts = {}
    for node in inference:
        salts[node.account.address] = new_salt()
        client.commit_output(node.account, rid, output_commitment(
            client.chain_id, client.address, rid, node.account.address, node.output, node.cost,
            salts[node.account.address]))
    wait_for_stage(client, requester, rid, {Stage.REVEAL, Stage.SETTLEABLE})
    for node in inference:
        if node.reveals:
            client.reveal_output(node.account, rid, node.output, node.cost, salts[node.account.address])
    wait_for_stage(client, requester, rid, {Stage.REFERENCE, Stage.SCORE_COMMIT, Stage.SETTLEABLE})
    if reference is not None and client.round(rid)["stage"] == Stage.REFERENCE and reveal_reference:
        client.reveal_reference(requester, rid, th, reference, ref_salt)
    wait_for_stage(client, requester, rid, {Stage.SCORE_COMMIT, Stage.SETTLEABLE})
    revealed_reference = reference if reveal_reference else None

    revealed_nodes = client.revealed_nodes(rid)
    by_address: dict[str, ScriptedInference] = {n.account.address: n for n in inference}
    outputs = [by_address[a].output for a in revealed_nodes]
    committee = set(client.committee(rid))
    members = [e for e in evaluators if e.account.address in committee and e.commits]
    plans = {}
    for ev in members:
        scores = [int(s) for s in ev.scorer(outputs, revealed_reference)]
        salt = new_salt()
        plans[ev.account.address] = (scores, salt)
        client.commit_scores(ev.account, rid, scores_commitment(
            client.chain_id, client.address, rid, ev.account.address, scores, ev.cost, salt))
    wait_for_stage(client, requester, rid, {Stage.SCORE_REVEAL, Stage.SETTLEABLE})
    for ev in members:
        if ev.reveals:
            scores, salt = plans[ev.account.address]
            client.reveal_scores(ev.account, rid, scores, ev.cost, salt)
    wait_for_stage(client, requester, rid, {Stage.SETTLEABLE})
    client.settle(requester, rid)
    return rid


def wait_for_stage(client: PoQClient, poker: LocalAccount, rid: int, stages: set[Stage], tries: int = 100) -> None:
    """Mine past deadlines (a devnet only) until the round reaches one of ``stages``."""
    for _ in range(tries):
        r = client.round(rid)
        if Stage(r["stage"]) in stages:
            return
        if r["expired"]:
            client.advance(poker, rid)
        else:
            blocks = hex(r["deadline"] - client.w3.eth.block_number + 1)
            client.w3.provider.make_request(RPCEndpoint("anvil_mine"), [blocks])
    raise RuntimeError(f"round {rid} is stuck in stage {Stage(r['stage']).name}, "
                       f"wanted {sorted(s.name for s in stages)}")
