"""Every way a round call can be refused, each with the custom error that names the problem."""

from __future__ import annotations

import pytest

from oracle.chain import TaskSpec
from oracle.commitments import output_commitment
from oracle.params import WAD, Stage
from oracle.reward import Cost

from .harness import DEFAULT_EVAL_COST, land_next_tx_at, reverts_with

ETH = 10**18
REFERENCE = "Denver Broncos"


def member_accounts(play, evaluators) -> list:
    committee = play.committee()
    return [e for e in evaluators if e.address in committee]


def to_scoring(play, nodes, stage: Stage = Stage.SCORE_COMMIT):
    """Commit and reveal every node's output, so the committee is drawn."""
    for node in nodes:
        play.commit(node)
    for node in nodes:
        play.reveal(node)
    assert play.stage() == stage


# ------------------------------------------------------------------ stages


def test_calls_outside_their_stage(poq, client, open_round, inference_nodes, evaluators, requester):
    """Each call, made one stage too early or too late, names the stage it needs and the actual one."""
    play = open_round(slots=2, committee_size=2, reference=REFERENCE)
    rid = play.rid
    play.commit(inference_nodes[0])
    with reverts_with("WrongStage", roundId=rid, expected=Stage.REVEAL, actual=Stage.COMMIT):
        poq.revealOutput(rid, "x", (1, 1, 1), b"\x00" * 32, sender=inference_nodes[0])
    with reverts_with("WrongStage", roundId=rid, expected=Stage.REFERENCE, actual=Stage.COMMIT):
        poq.revealReference(rid, REFERENCE, b"\x11" * 32, sender=requester)
    with reverts_with("WrongStage", roundId=rid, expected=Stage.SCORE_COMMIT, actual=Stage.COMMIT):
        poq.commitScores(rid, b"\x01" * 32, sender=evaluators[0])
    with reverts_with("WrongStage", roundId=rid, expected=Stage.SETTLEABLE, actual=Stage.COMMIT):
        poq.settle(rid, sender=requester)
    play.commit(inference_nodes[1])
    play.reveal(inference_nodes[0])
    play.reveal(inference_nodes[1])
    assert play.stage() == Stage.REFERENCE
    with reverts_with("WrongStage", roundId=rid, expected=Stage.COMMIT, actual=Stage.REFERENCE):
        poq.commitOutput(rid, b"\x01" * 32, sender=inference_nodes[2])
    play.advance_to(Stage.SCORE_COMMIT)
    member = member_accounts(play, evaluators)[0]
    with reverts_with("WrongStage", roundId=rid, expected=Stage.SCORE_REVEAL, actual=Stage.SCORE_COMMIT):
        poq.revealScores(rid, [WAD, WAD], DEFAULT_EVAL_COST.as_tuple(), b"\x00" * 32, sender=member)
    play.commit_scores(member, [WAD, WAD])
    play.advance_to(Stage.SCORE_REVEAL)
    with reverts_with("WrongStage", roundId=rid, expected=Stage.SCORE_COMMIT, actual=Stage.SCORE_REVEAL):
        poq.commitScores(rid, b"\x01" * 32, sender=member_accounts(play, evaluators)[1])


def test_reveal_after_its_deadline(poq, client, open_round, inference_nodes):
    play = open_round(slots=2)
    entry = play.commit(inference_nodes[0])
    play.commit(inference_nodes[1])
    play.reveal(inference_nodes[1])
    land_next_tx_at(client, client.round(play.rid)["deadline"] + 1)
    with reverts_with("WrongStage", roundId=play.rid, expected=Stage.REVEAL, actual=Stage.SCORE_COMMIT):
        poq.revealOutput(play.rid, entry.payload, entry.cost.as_tuple(), entry.salt, sender=inference_nodes[0])


def test_settle_twice(poq, client, open_round, requester):
    play = open_round()
    play.advance_to(Stage.SETTLEABLE)
    poq.settle(play.rid, sender=requester)
    with reverts_with("WrongStage", roundId=play.rid, expected=Stage.SETTLEABLE, actual=Stage.SETTLED):
        poq.settle(play.rid, sender=requester)


def test_unknown_round(poq, client, inference_nodes):
    with reverts_with("RoundNotFound", roundId=999):
        poq.commitOutput(999, b"\x01" * 32, sender=inference_nodes[0])


# ------------------------------------------------------------------ output commit-reveal


@pytest.mark.parametrize("tamper", ["salt", "output", "cost"])
def test_reveal_that_does_not_match_the_commitment(poq, client, open_round, inference_nodes, tamper):
    play = open_round(slots=1)
    node = inference_nodes[0]
    e = play.commit(node)
    output, cost, salt = e.payload, e.cost, e.salt
    if tamper == "salt":
        salt = b"\x42" * 32
    elif tamper == "output":
        output = output + " "
    else:
        cost = Cost(cost.latency_ms - 1, cost.tokens, cost.memory_mb)  # under-report latency by 1 ms
    with reverts_with("CommitmentMismatch", roundId=play.rid, node=node.address):
        poq.revealOutput(play.rid, output, cost.as_tuple(), salt, sender=node)


def test_copied_commitment_cannot_be_revealed(poq, client, open_round, inference_nodes):
    """Node B commits A's hash (seen in A's event); B cannot open it, because the node is in the preimage."""
    play = open_round(slots=2)
    a, b = inference_nodes[:2]
    e = play.commit(a)
    copied = output_commitment(client.chain_id, client.address, play.rid, a.address, e.payload, e.cost, e.salt)
    poq.commitOutput(play.rid, copied, sender=b)
    assert play.stage() == Stage.REVEAL
    with reverts_with("CommitmentMismatch", roundId=play.rid, node=b.address):
        poq.revealOutput(play.rid, e.payload, e.cost.as_tuple(), e.salt, sender=b)
    poq.revealOutput(play.rid, e.payload, e.cost.as_tuple(), e.salt, sender=a)
    assert client.revealed_nodes(play.rid) == [a.address]


def test_double_commit_and_double_reveal(poq, client, open_round, inference_nodes):
    play = open_round(slots=2)
    node = inference_nodes[0]
    e = play.commit(node)
    with reverts_with("AlreadyCommitted", roundId=play.rid, node=node.address):
        poq.commitOutput(play.rid, b"\x02" * 32, sender=node)
    play.commit(inference_nodes[1])
    play.reveal(node)
    with reverts_with("AlreadyRevealed", roundId=play.rid, node=node.address):
        poq.revealOutput(play.rid, e.payload, e.cost.as_tuple(), e.salt, sender=node)


def test_reveal_without_commit(poq, client, open_round, inference_nodes):
    play = open_round(slots=1)
    play.commit(inference_nodes[0])
    with reverts_with("NotCommitted", roundId=play.rid, node=inference_nodes[1].address):
        poq.revealOutput(play.rid, "x", (1, 1, 1), b"\x00" * 32, sender=inference_nodes[1])


# ------------------------------------------------------------------ reference


def test_reference_reveal_errors(poq, client, open_round, inference_nodes, requester, outsider):
    play = open_round(slots=1, reference=REFERENCE)
    to_scoring(play, inference_nodes[:1], Stage.REFERENCE)
    with reverts_with("NotRequester", roundId=play.rid, caller=outsider.address):
        poq.revealReference(play.rid, REFERENCE, b"\x11" * 32, sender=outsider)
    with reverts_with("CommitmentMismatch", roundId=play.rid, node=requester.address):
        poq.revealReference(play.rid, "Carolina Panthers", b"\x11" * 32, sender=requester)


def test_reference_reveal_without_reference(poq, client, open_round, inference_nodes, requester):
    play = open_round(slots=1)
    with reverts_with("NoReference", roundId=play.rid):
        poq.revealReference(play.rid, REFERENCE, b"\x11" * 32, sender=requester)


# ------------------------------------------------------------------ scores


@pytest.fixture
def scoring(open_round, inference_nodes, evaluators):
    """A round with two revealed outputs and a committee of three, in ScoreCommit."""
    play = open_round(slots=2, committee_size=3)
    to_scoring(play, inference_nodes[:2])
    members = member_accounts(play, evaluators)
    others = [e for e in evaluators if e not in members]
    return play, members, others


def test_non_member_cannot_score(poq, client, scoring, inference_nodes):
    play, members, others = scoring
    with reverts_with("NotInCommittee", roundId=play.rid, evaluator=others[0].address):
        poq.commitScores(play.rid, b"\x01" * 32, sender=others[0])
    with reverts_with("NotInCommittee", roundId=play.rid, evaluator=inference_nodes[0].address):
        poq.commitScores(play.rid, b"\x01" * 32, sender=inference_nodes[0])
    for m in members:
        play.commit_scores(m, [WAD, 0])
    with reverts_with("NotInCommittee", roundId=play.rid, evaluator=others[0].address):
        poq.revealScores(play.rid, [WAD, 0], DEFAULT_EVAL_COST.as_tuple(), b"\x00" * 32, sender=others[0])


@pytest.mark.parametrize("scores, error, inputs", [
    ([WAD + 1, 0], "ScoreOutOfRange", {"index": 0, "score": WAD + 1}),
    ([0, 2**64 - 1], "ScoreOutOfRange", {"index": 1, "score": 2**64 - 1}),
    ([WAD], "ScoreCountMismatch", {"expected": 2, "actual": 1}),
    ([WAD, WAD, WAD], "ScoreCountMismatch", {"expected": 2, "actual": 3}),
], ids=["above-wad", "max-uint64", "too-few", "too-many"])
def test_bad_score_lists(poq, client, scoring, scores, error, inputs):
    """Committed honestly to a bad list, a member still cannot reveal it."""
    play, members, _ = scoring
    for m in members:
        play.commit_scores(m, scores)
    e = play.scores[members[0].address]
    with reverts_with(error, **inputs):
        poq.revealScores(play.rid, scores, e.cost.as_tuple(), e.salt, sender=members[0])


def test_score_commit_reveal_errors(poq, client, scoring):
    play, members, _ = scoring
    first, second, third = members
    play.commit_scores(first, [WAD, 0])
    with reverts_with("AlreadyCommitted", roundId=play.rid, node=first.address):
        poq.commitScores(play.rid, b"\x02" * 32, sender=first)
    play.commit_scores(second, [WAD, 0])
    play.advance_to(Stage.SCORE_REVEAL)
    with reverts_with("NotCommitted", roundId=play.rid, node=third.address):
        poq.revealScores(play.rid, [WAD, 0], DEFAULT_EVAL_COST.as_tuple(), b"\x00" * 32, sender=third)
    e = play.scores[first.address]
    with reverts_with("CommitmentMismatch", roundId=play.rid, node=first.address):
        poq.revealScores(play.rid, [WAD, 1], e.cost.as_tuple(), e.salt, sender=first)
    play.reveal_scores(first)
    with reverts_with("AlreadyRevealed", roundId=play.rid, node=first.address):
        poq.revealScores(play.rid, e.payload, e.cost.as_tuple(), e.salt, sender=first)


# ------------------------------------------------------------------ open and withdraw


@pytest.mark.parametrize("slots, committee, budget, error, inputs", [
    (1, 1, 0, "ZeroBudget", {}),
    (0, 1, ETH, "InvalidSlots", {"slots": 0}),
    (65, 1, ETH, "InvalidSlots", {"slots": 65}),
    (1, 0, ETH, "InvalidCommitteeSize", {"committeeSize": 0, "available": 6}),
    (1, 7, ETH, "InvalidCommitteeSize", {"committeeSize": 7, "available": 6}),
], ids=["zero-budget", "zero-slots", "slots-above-max", "zero-committee", "committee-above-evaluators"])
def test_open_round_refuses(poq, client, requester, slots, committee, budget, error, inputs):
    spec = TaskSpec(b"\x01" * 32, "data:,", "qa", slots, committee)
    with reverts_with(error, **inputs):
        poq.openRound(spec.as_tuple(), sender=requester, value=budget)


def test_open_round_accepts_the_bounds(poq, client, requester):
    """MAX_SLOTS slots and a committee of every evaluator are allowed; one more is not (above)."""
    spec = TaskSpec(b"\x01" * 32, "data:,", "qa", poq.MAX_SLOTS(), 6)
    poq.openRound(spec.as_tuple(), sender=requester, value=1)


def test_withdraw_with_nothing_owed(poq, client, outsider):
    with reverts_with("NothingToWithdraw", account=outsider.address):
        poq.withdraw(sender=outsider)
