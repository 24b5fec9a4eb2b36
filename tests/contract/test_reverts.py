"""Every way a round call can be refused, each with the custom error that names the problem."""

from __future__ import annotations

import pytest

from oracle.chain.client import TaskSpec, by_address
from oracle.protocol.commitments import output_commitment
from oracle.protocol.params import WAD, Entry, Stage
from oracle.protocol.reward import Cost

from .harness import (
    DEFAULT_EVAL_COST,
    EMPTY_SETTLEMENT,
    REFERENCE_SALT,
    fast_reverts_with,
    land_next_tx_at,
    reverts_with,
)

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
        poq.revealReference(rid, play.task_hash, REFERENCE, REFERENCE_SALT, sender=requester)
    with reverts_with("WrongStage", roundId=rid, expected=Stage.SCORE_COMMIT, actual=Stage.COMMIT):
        poq.commitScores(rid, b"\x01" * 32, sender=evaluators[0])
    with reverts_with("WrongStage", roundId=rid, expected=Stage.SETTLEABLE, actual=Stage.COMMIT):
        poq.settle(rid, EMPTY_SETTLEMENT, sender=requester)
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
    settlement = play.settlement()
    poq.settle(play.rid, settlement, sender=requester)
    with reverts_with("WrongStage", roundId=play.rid, expected=Stage.SETTLEABLE, actual=Stage.SETTLED):
        poq.settle(play.rid, settlement, sender=requester)


def test_unknown_round(poq, client, inference_nodes):
    with reverts_with("RoundNotFound", roundId=999):
        poq.commitOutput(999, b"\x01" * 32, sender=inference_nodes[0])
    with reverts_with("RoundNotFound", roundId=999):
        poq.settle(999, EMPTY_SETTLEMENT, sender=inference_nodes[0])


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
    assert client.view("submission", play.rid, b.address)[0] == Entry.COMMITTED  # B stays a silent committer


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
        poq.revealReference(play.rid, play.task_hash, REFERENCE, REFERENCE_SALT, sender=outsider)
    with reverts_with("CommitmentMismatch", roundId=play.rid, node=requester.address):
        poq.revealReference(play.rid, play.task_hash, "Carolina Panthers", REFERENCE_SALT, sender=requester)
    with reverts_with("CommitmentMismatch", roundId=play.rid, node=requester.address):
        poq.revealReference(play.rid, b"\x02" * 32, REFERENCE, REFERENCE_SALT, sender=requester)  # another task
    poq.revealReference(play.rid, play.task_hash, REFERENCE, REFERENCE_SALT, sender=requester)
    assert client.round(play.rid)["reference_revealed"] is True


def test_reference_reveal_without_reference(poq, client, open_round, inference_nodes, requester):
    play = open_round(slots=1)
    with reverts_with("NoReference", roundId=play.rid):
        poq.revealReference(play.rid, play.task_hash, REFERENCE, REFERENCE_SALT, sender=requester)


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


# ------------------------------------------------------------------ zero commitments


def test_zero_output_commitment_is_refused_and_takes_no_slot(poq, client, open_round, inference_nodes):
    """v1 counted a zero commitment as a commit and let one node fill every slot with them."""
    play = open_round(slots=2)
    node = inference_nodes[0]
    with reverts_with("ZeroCommitment", roundId=play.rid, node=node.address):
        poq.commitOutput(play.rid, b"\x00" * 32, sender=node)
    with fast_reverts_with(client, "ZeroCommitment", roundId=play.rid, node=node.address):
        client.commit_output(node, play.rid, b"\x00" * 32)  # again: still refused, so never a second slot
    r = client.round(play.rid)
    assert (r["stage"], r["commits"]) == (Stage.COMMIT, 0)
    assert client.view("submission", play.rid, node.address)[0] == Entry.NONE
    assert client.node(node.address)["pending_rounds"] == 0
    play.commit(node)  # the node may still commit for real, and the slots are still open to others
    play.commit(inference_nodes[1])
    assert play.stage() == Stage.REVEAL


def test_zero_score_commitment_is_refused_and_counts_nothing(poq, client, scoring):
    """v1 let one member commit zero K - 1 times, close ScoreCommit and score alone."""
    play, members, _ = scoring
    with reverts_with("ZeroCommitment", roundId=play.rid, node=members[0].address):
        poq.commitScores(play.rid, b"\x00" * 32, sender=members[0])
    for _ in range(len(members) - 1):
        with fast_reverts_with(client, "ZeroCommitment", roundId=play.rid, node=members[0].address):
            client.commit_scores(members[0], play.rid, b"\x00" * 32)
    r = client.round(play.rid)
    assert (r["stage"], r["score_commits"]) == (Stage.SCORE_COMMIT, 0)
    assert client.view("evaluation", play.rid, members[0].address) == Entry.MEMBER
    for m in members:
        play.commit_scores(m, [WAD, 0])
    assert play.stage() == Stage.SCORE_REVEAL


# ------------------------------------------------------------------ settle's lists


@pytest.fixture
def settleable(open_round, inference_nodes, evaluators):
    """A Settleable round: outputs of nodes 0 and 1 revealed, node 2 silent; of three members, two
    revealed, one committed and went silent. Returns (play, the true settlement)."""
    play = open_round(slots=3, committee_size=3)
    for node in inference_nodes[:3]:
        play.commit(node)
    for node in inference_nodes[:2]:
        play.reveal(node)
    play.advance_to(Stage.SCORE_COMMIT)
    members = member_accounts(play, evaluators)
    for m in members:
        play.commit_scores(m, [WAD, WAD // 3])
    for m in members[:2]:
        play.reveal_scores(m)
    play.advance_to(Stage.SETTLEABLE)
    return play, play.settlement()


def forged(settlement: tuple, **changes) -> tuple:
    outputs, silent, committee, cards = (list(x) for x in settlement)
    lists = {"outputs": outputs, "silent": silent, "committee": committee, "cards": cards}
    lists.update(changes)
    return (lists["outputs"], lists["silent"], lists["committee"], lists["cards"])


def test_settle_refuses_every_settlement_but_the_true_one(poq, client, settleable, requester, inference_nodes,
                                                          evaluators):
    """The lists come from the events, but only the one true settlement passes: counts, order, entries
    and scorecards are checked against what the round stored."""
    play, true = settleable
    outputs, silent, committee, cards = true
    assert (len(outputs), len(silent), len(committee)) == (2, 1, 3)
    revealed = [j for j, c in enumerate(cards) if c[0]]
    unrevealed = next(j for j, c in enumerate(cards) if not c[0])
    outsider_evaluator = next(e.address for e in evaluators if e.address not in committee)
    wrong_card = list(cards)
    wrong_card[revealed[0]] = ([WAD, WAD // 3 + 1], cards[revealed[0]][1])
    wrong_cost = list(cards)
    wrong_cost[revealed[0]] = (cards[revealed[0]][0], (0, 0, 0))
    refused = [
        ("WrongCount", {"expected": 2, "actual": 1}, forged(true, outputs=outputs[:1])),
        ("WrongCount", {"expected": 2, "actual": 3}, forged(true, outputs=by_address(outputs + silent))),
        ("WrongCount", {"expected": 1, "actual": 0}, forged(true, silent=[])),
        ("WrongCount", {"expected": 3, "actual": 2}, forged(true, committee=committee[:2], cards=cards[:2])),
        ("WrongCount", {"expected": 3, "actual": 2}, forged(true, cards=cards[:2])),
        ("NotAscending", {"position": 1}, forged(true, outputs=outputs[::-1])),
        ("NotAscending", {"position": 1}, forged(true, outputs=[outputs[0], outputs[0]])),
        ("NotAscending", {"position": 1}, forged(true, committee=[committee[1], committee[0], committee[2]],
                                                  cards=[cards[1], cards[0], cards[2]])),
        ("WrongEntry", {"node": outputs[1], "expected": Entry.COMMITTED},  # silent ones are checked first
         forged(true, outputs=by_address([outputs[0], silent[0]]), silent=[outputs[1]])),
        ("WrongEntry", {"node": inference_nodes[5].address, "expected": Entry.REVEALED},
         forged(true, outputs=by_address([outputs[0], inference_nodes[5].address]))),
        ("WrongEntry", {"node": inference_nodes[5].address, "expected": Entry.COMMITTED},
         forged(true, silent=[inference_nodes[5].address])),
        ("WrongEntry", {"node": outsider_evaluator, "expected": Entry.MEMBER},
         forged(true, committee=by_address(committee[:2] + [outsider_evaluator]))),
        ("ScorecardMismatch", {"evaluator": committee[revealed[0]]}, forged(true, cards=wrong_card)),
        ("ScorecardMismatch", {"evaluator": committee[revealed[0]]}, forged(true, cards=wrong_cost)),
    ]
    with reverts_with("NotAscending", position=1):  # one through ape, the rest through the fast client
        poq.settle(play.rid, forged(true, outputs=outputs[::-1]), sender=requester)
    for error, inputs, settlement in refused:
        with fast_reverts_with(client, error, **inputs):
            client.transact(requester, "settle", play.rid, settlement)
    # A card given for a member that did not reveal is ignored: it is not that member's to claim.
    ignored = list(cards)
    ignored[unrevealed] = ([0, 0], (1, 1, 1))
    before = client.round(play.rid)
    assert before["stage"] == Stage.SETTLEABLE
    poq.settle(play.rid, forged(true, cards=ignored), sender=requester)
    assert play.stage() == Stage.SETTLED


# ------------------------------------------------------------------ open and withdraw


@pytest.mark.parametrize("slots, committee, budget, error, inputs", [
    (1, 1, 0, "BudgetTooLow", {"budget": 0, "minBudget": 10**15}),
    (1, 1, 10**15 - 1, "BudgetTooLow", {"budget": 10**15 - 1, "minBudget": 10**15}),
    (0, 1, ETH, "InvalidSlots", {"slots": 0}),
    (65, 1, ETH, "InvalidSlots", {"slots": 65}),
    (1, 0, ETH, "InvalidCommitteeSize", {"committeeSize": 0, "available": 6}),
    (1, 7, ETH, "InvalidCommitteeSize", {"committeeSize": 7, "available": 6}),
], ids=["zero-budget", "below-min-budget", "zero-slots", "slots-above-max", "zero-committee",
        "committee-above-evaluators"])
def test_open_round_refuses(poq, client, requester, params, slots, committee, budget, error, inputs):
    assert params.min_budget == 10**15
    spec = TaskSpec(b"\x01" * 32, "data:,", "qa", slots, committee)
    with reverts_with(error, **inputs):
        poq.openRound(spec.as_tuple(poq.paramsVersion()), sender=requester, value=budget)


def test_open_round_refuses_a_budget_above_uint96(poq, client, requester):
    budget = 2**96
    client.rpc("anvil_setBalance", [requester.address, hex(2 * budget)])
    spec = TaskSpec(b"\x01" * 32, "data:,", "qa", 1, 1)
    with reverts_with("BudgetTooHigh", budget=budget):
        poq.openRound(spec.as_tuple(poq.paramsVersion()), sender=requester, value=budget)


def test_open_round_refuses_parameters_the_requester_did_not_agree_to(poq, client, requester, owner, params):
    """A round names the parameter version it agreed to; a change in between (a front-run) refuses it."""
    spec = TaskSpec(b"\x01" * 32, "data:,", "qa", 1, 1)
    for asked in (0, 2):
        with fast_reverts_with(client, "ParamsChanged", asked=asked, current=1):
            client.transact(requester, "openRound", spec.as_tuple(asked), value=ETH)
    client.transact(owner, "setParams", params.with_(beta_inference=WAD).as_contract_tuple())
    with reverts_with("ParamsChanged", asked=1, current=2):
        poq.openRound(spec.as_tuple(1), sender=requester, value=ETH)
    poq.openRound(spec.as_tuple(2), sender=requester, value=ETH)


def test_open_round_accepts_the_bounds(poq, client, requester, params):
    """MAX_SLOTS slots, a committee of every evaluator and the minimum budget are allowed; one more
    (or one wei less) is not (above)."""
    spec = TaskSpec(b"\x01" * 32, "data:,", "qa", poq.MAX_SLOTS(), 6)
    poq.openRound(spec.as_tuple(poq.paramsVersion()), sender=requester, value=params.min_budget)
    client.rpc("anvil_setBalance", [requester.address, hex(2**97)])
    poq.openRound(spec.as_tuple(poq.paramsVersion()), sender=requester, value=2**96 - 1)


def test_withdraw_with_nothing_owed(poq, client, outsider):
    with reverts_with("NothingToWithdraw", account=outsider.address):
        poq.withdraw(sender=outsider)
