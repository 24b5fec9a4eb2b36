"""Every phase of a round, called through ape: what each call stores and emits, and when stages end.

A stage ends as soon as everyone expected in it has acted, and otherwise at its
deadline: a call in the deadline block still counts, the next block belongs to
the next stage.
"""

from __future__ import annotations

import pytest

from oracle.chain.client import TaskSpec, by_address
from oracle.protocol.commitments import new_salt, output_commitment, scores_commitment
from oracle.protocol.params import WAD, Entry, Stage
from oracle.protocol.reward import Cost, split_budget

from .harness import (
    DEFAULT_COST,
    DEFAULT_EVAL_COST,
    REFERENCE_SALT,
    ZERO32,
    check_settled,
    credits_of,
    default_output,
    land_next_tx_at,
    predicted_committee,
    reverts_with,
)

ETH = 10**18
REFERENCE = "Denver Broncos"


def accounts_of(accounts: list, addresses: list[str]) -> list:
    index = {a.address: a for a in accounts}
    return [index[a] for a in addresses]


def test_open_round_splits_budget_and_enters_commit(poq, client, requester, params):
    before = client.eth_balance(poq.address)
    spec = TaskSpec(b"\x01" * 32, "data:text/plain,hi", "qa", 4, 3)
    rid = client.next_round_id()
    tx = poq.openRound(spec.as_tuple(poq.paramsVersion()), sender=requester, value=3 * ETH + 7)
    (opened,) = tx.events.filter(poq.RoundOpened)
    inference_pool, evaluator_pool = split_budget(3 * ETH + 7, params)
    assert (opened.roundId, opened.requester, opened.kind, opened.uri) == (rid, requester.address, "qa",
                                                                            "data:text/plain,hi")
    assert (opened.slots, opened.committeeSize, opened.paramsVersion) == (4, 3, 1)
    assert (bytes(opened.taskHash), bytes(opened.referenceCommitment)) == (b"\x01" * 32, ZERO32)
    assert (opened.inferencePool, opened.evaluatorPool) == (inference_pool, evaluator_pool)
    assert inference_pool + evaluator_pool == 3 * ETH + 7
    (changed,) = tx.events.filter(poq.StageChanged)
    assert (changed.stage, changed.deadline) == (Stage.COMMIT, tx.block_number + params.commit_window)
    r = client.round(rid)
    assert (r["stage"], r["deadline"], r["opened_at"], r["params_version"]) == (
        Stage.COMMIT, changed.deadline, tx.block_number, 1)
    assert (r["requester"], r["budget"], r["slots"], r["committee_size"]) == (requester.address, 3 * ETH + 7, 4, 3)
    assert (r["has_reference"], r["reference_revealed"], r["seed"]) == (False, False, 0)
    assert bytes(client.view("referenceCommitment", rid)) == ZERO32
    assert client.eth_balance(poq.address) == before + 3 * ETH + 7
    assert client.next_round_id() == rid + 1


def test_full_round_through_every_phase(poq, client, open_round, params, inference_nodes, evaluators,
                                        requester, owner):
    """n = 3, K = 3, no reference: every call through ape, every early close, settle, withdraw."""
    play = open_round(slots=3, committee_size=3, budget=2 * ETH)
    rid, nodes = play.rid, inference_nodes[:3]
    costs = [DEFAULT_COST, Cost(4_000, 200, 3_000), Cost(0, 0, 0)]
    salts = [new_salt() for _ in nodes]
    for i, (node, cost, salt) in enumerate(zip(nodes, costs, salts, strict=True)):
        assert client.view("submission", rid, node.address)[0] == Entry.NONE
        c = output_commitment(client.chain_id, poq.address, rid, node.address, default_output(node.address),
                              cost, salt)
        tx = poq.commitOutput(rid, c, sender=node)
        assert [(e.node, e.commitment) for e in tx.events.filter(poq.OutputCommitted)] == [(node.address, c)]
        assert client.view("submission", rid, node.address) == (Entry.COMMITTED, (0, 0, 0))
        assert play.stage() == (Stage.COMMIT if i < 2 else Stage.REVEAL)  # closes once n have committed
    assert client.round(rid)["commits"] == 3
    assert [client.node(n.address)["pending_rounds"] for n in nodes] == [1, 1, 1]

    for node, cost, salt in zip(nodes, costs, salts, strict=True):
        tx = poq.revealOutput(rid, default_output(node.address), cost.as_tuple(), salt, sender=node)
        (ev,) = tx.events.filter(poq.OutputRevealed)
        assert (ev.node, ev.output) == (node.address, default_output(node.address))
        assert tuple(ev.cost) == cost.as_tuple()
        assert client.view("submission", rid, node.address) == (Entry.REVEALED, cost.as_tuple())
    # The last reveal closed Reveal and, with no reference, drew the committee in the same transaction,
    # by oracle.protocol.sortition's rule over the revealed salts.
    (drawn,) = tx.events.filter(poq.CommitteeDrawn)
    members = list(drawn.members)
    assert len(members) == len(set(members)) == 3
    assert set(members) <= {e.address for e in evaluators}
    assert predicted_committee(client, rid, salts, play.opened_block) == members
    assert play.committee() == client.committee(rid) == members
    assert [client.view("evaluation", rid, e.address) for e in evaluators] == [
        Entry.MEMBER if e.address in members else Entry.NONE for e in evaluators]
    assert play.stage() == Stage.SCORE_COMMIT

    # One score per revealed output, in ascending order of the output nodes' addresses.
    order = by_address(n.address for n in nodes)
    scores = {m: [WAD, WAD // 2, k * WAD // 10] for k, m in enumerate(members)}
    score_salts = {m: new_salt() for m in members}
    for k, member in enumerate(accounts_of(evaluators, members)):
        c = scores_commitment(client.chain_id, poq.address, rid, member.address, scores[member.address],
                              DEFAULT_EVAL_COST, score_salts[member.address])
        poq.commitScores(rid, c, sender=member)
        assert client.view("evaluation", rid, member.address) == Entry.COMMITTED
        assert play.stage() == (Stage.SCORE_COMMIT if k < 2 else Stage.SCORE_REVEAL)
    for k, member in enumerate(accounts_of(evaluators, members)):
        tx = poq.revealScores(rid, scores[member.address], DEFAULT_EVAL_COST.as_tuple(),
                              score_salts[member.address], sender=member)
        (ev,) = tx.events.filter(poq.ScoresRevealed)
        assert (ev.evaluator, list(ev.scores)) == (member.address, scores[member.address])
        assert tuple(ev.cost) == DEFAULT_EVAL_COST.as_tuple()
        assert client.view("evaluation", rid, member.address) == Entry.REVEALED
        assert play.stage() == (Stage.SCORE_REVEAL if k < 2 else Stage.SETTLEABLE)

    payees = [n.address for n in nodes] + members + [requester.address, owner.address]
    owed_before, nodes_before = client.owed_and_nodes(payees)
    settlement = play.settlement()
    assert (settlement[0], settlement[1], settlement[2]) == (order, [], by_address(members))
    tx = poq.settle(rid, settlement, sender=requester)
    assert play.stage() == Stage.SETTLED
    settled, model_input = check_settled(client, rid, {a: n["stake"] for a, n in nodes_before.items()},
                                         play.opened_block)
    assert [o.node for o in model_input.outputs] == order
    assert [p.quality for p in settled.inference] == [
        sum(s[order.index(n)] for s in scores.values()) // 3 for n in order]
    assert settled.slashes == () and settled.compensation == ()
    assert settled.paid + settled.refund == 2 * ETH
    credited = credits_of(settled, owner.address, requester.address)
    owed_after, nodes_after = client.owed_and_nodes(payees)
    assert {a: owed_after[a] - owed_before[a] for a in payees} == {a: credited.get(a, 0) for a in payees}
    assert [nodes_after[a]["pending_rounds"] for a in [n.address for n in nodes] + members] == [0] * 6

    payee = nodes[0]
    owed = client.balance_of(payee.address)
    assert owed > 0
    eth_before = client.eth_balance(payee.address)
    tx = poq.withdraw(sender=payee)
    assert [(e.account, e.amount) for e in tx.events.filter(poq.Withdrawn)] == [(payee.address, owed)]
    assert client.eth_balance(payee.address) - eth_before == owed - tx.total_fees_paid
    assert client.balance_of(payee.address) == 0


def test_reference_reveal_then_committee(poq, client, open_round, requester, inference_nodes, params):
    play = open_round(slots=2, committee_size=2, reference=REFERENCE)
    assert client.round(play.rid)["has_reference"] is True
    assert bytes(client.view("referenceCommitment", play.rid)) != ZERO32
    for node in inference_nodes[:2]:
        play.commit(node)
    for node in inference_nodes[:2]:
        play.reveal(node)
    assert play.stage() == Stage.REFERENCE  # a committed reference keeps the committee waiting for it
    assert play.committee() == []
    tx = poq.revealReference(play.rid, play.task_hash, REFERENCE, REFERENCE_SALT, sender=requester)
    play.reference_revealed = True
    assert [e.referenceAnswer for e in tx.events.filter(poq.ReferenceRevealed)] == [REFERENCE]
    (drawn,) = tx.events.filter(poq.CommitteeDrawn)
    r = client.round(play.rid)
    assert (r["stage"], r["reference_revealed"]) == (Stage.SCORE_COMMIT, True)
    # The reference's salt joins the seed.
    assert play.predicted_committee() == list(drawn.members) == play.committee()
    assert len(play.committee()) == 2


def test_reference_stage_ends_at_deadline_without_reveal(client, open_round, inference_nodes, params):
    play = open_round(slots=1, committee_size=2, reference=REFERENCE)
    play.commit(inference_nodes[0])
    play.reveal(inference_nodes[0])
    assert play.stage() == Stage.REFERENCE
    deadline = client.round(play.rid)["deadline"]
    land_next_tx_at(client, deadline + 1)
    play.advance_to(Stage.SCORE_COMMIT)
    r = client.round(play.rid)
    assert r["reference_revealed"] is False
    assert len(play.committee()) == 2
    assert play.predicted_committee() == play.committee()  # the seed without a reference salt


def test_committee_of_every_evaluator_and_never_an_exiting_one(poq, client, open_round, evaluators,
                                                               inference_nodes):
    leaving = evaluators[0]
    poq.requestExit(sender=leaving)
    assert leaving.address not in client.view("evaluatorSet")
    play = open_round(slots=1, committee_size=len(evaluators) - 1)
    assert client.view("drawWeight", play.rid, leaving.address) == 0
    play.commit(inference_nodes[0])
    play.reveal(inference_nodes[0])
    assert sorted(play.committee()) == sorted(e.address for e in evaluators[1:])


# ------------------------------------------------------------------ deadlines


def test_commit_stage_runs_to_its_deadline(poq, client, open_round, inference_nodes, params):
    play = open_round(slots=3)
    play.commit(inference_nodes[0])
    deadline = client.round(play.rid)["deadline"]
    land_next_tx_at(client, deadline)  # the deadline block itself is still Commit
    play.commit(inference_nodes[1])
    assert play.stage() == Stage.COMMIT
    late = inference_nodes[2]
    with reverts_with("WrongStage", roundId=play.rid, expected=Stage.COMMIT, actual=Stage.REVEAL):
        poq.commitOutput(play.rid, b"\x01" * 32, sender=late)


def test_reveal_stage_runs_to_its_deadline_then_draws(poq, client, open_round, inference_nodes):
    play = open_round(slots=2)
    for node in inference_nodes[:2]:
        play.commit(node)
    play.reveal(inference_nodes[0])
    assert play.stage() == Stage.REVEAL
    deadline = client.round(play.rid)["deadline"]
    land_next_tx_at(client, deadline + 1)
    tx = poq.advance(play.rid, sender=inference_nodes[0])
    assert len(tx.events.filter(poq.CommitteeDrawn)) == 1
    assert play.stage() == Stage.SCORE_COMMIT
    assert play.predicted_committee() == play.committee()  # only the revealed salt counts
    assert client.revealed_nodes(play.rid) == [inference_nodes[0].address]


def test_score_stages_run_to_their_deadlines(poq, client, open_round, inference_nodes, evaluators):
    play = open_round(slots=1, committee_size=3)
    play.commit(inference_nodes[0])
    play.reveal(inference_nodes[0])
    members = accounts_of(evaluators, play.committee())
    play.commit_scores(members[0], [WAD])
    land_next_tx_at(client, client.round(play.rid)["deadline"])  # the deadline block itself is still ScoreCommit
    play.commit_scores(members[1], [WAD])
    assert play.stage() == Stage.SCORE_COMMIT
    land_next_tx_at(client, client.round(play.rid)["deadline"] + 1)  # the next block belongs to ScoreReveal
    poq.advance(play.rid, sender=members[0])
    assert play.stage() == Stage.SCORE_REVEAL
    play.reveal_scores(members[0])
    land_next_tx_at(client, client.round(play.rid)["deadline"])  # the deadline block itself is still ScoreReveal
    play.reveal_scores(members[1])
    # both committers revealed: the stage ends at once, without waiting for its deadline
    assert play.stage() == Stage.SETTLEABLE


def test_score_reveal_ends_at_its_deadline_without_a_late_revealer(poq, client, open_round, inference_nodes,
                                                                   evaluators):
    play = open_round(slots=1, committee_size=2)
    play.commit(inference_nodes[0])
    play.reveal(inference_nodes[0])
    members = accounts_of(evaluators, play.committee())
    for m in members:
        play.commit_scores(m, [WAD])
    assert play.stage() == Stage.SCORE_REVEAL  # everyone committed: ScoreCommit ended early
    play.reveal_scores(members[0])
    land_next_tx_at(client, client.round(play.rid)["deadline"] + 1)
    poq.advance(play.rid, sender=members[0])
    assert play.stage() == Stage.SETTLEABLE


@pytest.mark.parametrize("commits", [0, 2], ids=["nobody-commits", "nobody-reveals"])
def test_round_without_outputs_skips_to_settleable_and_refunds(poq, client, open_round, inference_nodes,
                                                               requester, commits, params):
    play = open_round(slots=3, budget=ETH)
    for node in inference_nodes[:commits]:
        play.commit(node)
    play.advance_to(Stage.SETTLEABLE)
    assert play.committee() == []
    stakes = client.stakes([n.address for n in inference_nodes])
    tx = poq.settle(play.rid, play.settlement(), sender=requester)
    (settled,) = tx.events.filter(poq.RoundSettled)
    assert (settled.paid, settled.refund) == (0, ETH)
    # Silent committers are slashed in ascending address order (settle's `silent` list).
    assert [s.node for s in tx.events.filter(poq.Slashed)] == by_address(n.address for n in inference_nodes[:commits])
    assert tx.events.filter(poq.Compensated) == []
    check_settled(client, play.rid, stakes, play.opened_block)


def test_round_without_score_commits_slashes_the_absent_and_pays_the_outputs_the_evaluator_pool(
        poq, client, open_round, inference_nodes, evaluators, requester, params):
    """v2: drawn members that never commit are slashed, and a round nobody scored gives the evaluator
    pool to the revealed outputs (v1 paid nothing and refunded the whole budget)."""
    play = open_round(slots=2, committee_size=2)
    for node in inference_nodes[:2]:
        play.commit(node)
    for node in inference_nodes[:2]:
        play.reveal(node)
    members = play.committee()
    play.advance_to(Stage.SETTLEABLE)
    stakes = client.stakes([e.address for e in evaluators])
    tx = poq.settle(play.rid, play.settlement(), sender=requester)
    paid = tx.events.filter(poq.InferencePaid)
    assert [(p.quality, p.amount) for p in paid] == [(0, 0), (0, 0)]
    assert tx.events.filter(poq.EvaluatorPaid) == []
    assert [(s.node, s.amount) for s in tx.events.filter(poq.Slashed)] == [
        (m, params.slash_amount) for m in by_address(members)]
    _, evaluator_pool = split_budget(play.budget, params)
    outputs = by_address(n.address for n in inference_nodes[:2])
    assert [(c.node, c.amount) for c in tx.events.filter(poq.Compensated)] == [
        (n, evaluator_pool // 2) for n in outputs]
    (settled,) = tx.events.filter(poq.RoundSettled)
    assert (settled.paid, settled.refund) == (evaluator_pool // 2 * 2, play.budget - evaluator_pool // 2 * 2)
    check_settled(client, play.rid, stakes, play.opened_block)
