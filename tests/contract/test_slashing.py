"""Committing and never revealing costs ``min(slashAmount, stake)``, paid to the owner; the round still
settles for everyone else, exactly as the reference model says."""

from __future__ import annotations

from oracle.ledger import build_rounds, check_against_reference, stakes_at_settlement
from oracle.params import WAD, Stage

from .harness import reverts_with

ETH = 10**18


def members_of(play, evaluators) -> list:
    committee = play.committee()
    return sorted((e for e in evaluators if e.address in committee), key=lambda e: committee.index(e.address))


def settle_and_check(poq, client, play, params, requester) -> tuple:
    """Settles through ape; checks the events against the model; returns (tx, record)."""
    watched = [a for a in client.contract.functions.committers(play.rid).call()] + play.committee()
    _, nodes_before = client.owed_and_nodes(watched)
    tx = poq.settle(play.rid, sender=requester)
    record = build_rounds(client.events(from_block=play.opened_block))[play.rid]
    assert check_against_reference(record, params, {a: n[3] for a, n in nodes_before.items()}) == []
    assert record.paid + record.refund == play.budget
    return tx, record


def test_silent_inference_node_is_slashed_and_others_paid(poq, client, open_round, inference_nodes, evaluators,
                                                          owner, requester, params):
    play = open_round(slots=3, committee_size=2)
    silent, *honest = inference_nodes[:3]
    for node in inference_nodes[:3]:
        play.commit(node)
    for node in honest:
        play.reveal(node)
    play.advance_to(Stage.SCORE_COMMIT)  # Reveal closes at its deadline: one committer never revealed
    members = members_of(play, evaluators)
    for m in members:
        play.commit_scores(m, [WAD, WAD // 2])
    for m in members:
        play.reveal_scores(m)
    owner_before = client.balance_of(owner.address)
    tx, record = settle_and_check(poq, client, play, params, requester)
    assert [(s.node, s.amount) for s in tx.events.filter(poq.Slashed)] == [(silent.address, params.slash_amount)]
    assert client.node(silent.address)["stake"] == params.min_stake - params.slash_amount
    assert client.balance_of(owner.address) - owner_before == params.slash_amount
    assert [p["node"] for p in record.inference_paid] == [n.address for n in honest]
    assert all(p["amount"] > 0 for p in record.inference_paid + record.evaluator_paid)
    assert client.node(silent.address)["pending_rounds"] == 0


def test_silent_evaluator_is_slashed_and_quality_uses_the_revealers(poq, client, open_round, inference_nodes,
                                                                    evaluators, owner, requester, params):
    play = open_round(slots=2, committee_size=3)
    for node in inference_nodes[:2]:
        play.commit(node)
    for node in inference_nodes[:2]:
        play.reveal(node)
    silent, *honest = members_of(play, evaluators)
    play.commit_scores(silent, [0, 0])
    play.commit_scores(honest[0], [WAD, WAD // 2])
    play.commit_scores(honest[1], [WAD // 2, WAD // 2])
    for m in honest:
        play.reveal_scores(m)
    play.advance_to(Stage.SETTLEABLE)
    tx, record = settle_and_check(poq, client, play, params, requester)
    assert [(s.node, s.amount) for s in tx.events.filter(poq.Slashed)] == [(silent.address, params.slash_amount)]
    assert [p["quality"] for p in record.inference_paid] == [3 * WAD // 4, WAD // 2]  # mean of the two revealers
    assert sorted(p["node"] for p in record.evaluator_paid) == sorted(m.address for m in honest)
    assert client.node(silent.address)["stake"] == params.min_stake - params.slash_amount


def test_absent_member_is_neither_paid_nor_slashed(poq, client, open_round, inference_nodes, evaluators,
                                                   requester, params):
    play = open_round(slots=1, committee_size=2)
    play.commit(inference_nodes[0])
    play.reveal(inference_nodes[0])
    absent, present = members_of(play, evaluators)
    play.commit_scores(present, [WAD])
    play.advance_to(Stage.SCORE_REVEAL)
    play.reveal_scores(present)
    tx, record = settle_and_check(poq, client, play, params, requester)
    assert tx.events.filter(poq.Slashed) == []
    assert [p["node"] for p in record.evaluator_paid] == [present.address]
    assert client.node(absent.address)["stake"] == params.min_stake


def test_slash_is_capped_by_the_stake(poq, client, open_round, inference_nodes, evaluators, owner, requester,
                                      params):
    """After the owner raises the slash above what an evaluator staked, it loses its stake and no more.

    Evaluators are not stake-checked when they score (inference nodes are, at commit), so an
    under-staked member can still be drawn and go silent.
    """
    raised = params.with_(min_stake=2 * ETH, slash_amount=2 * ETH)
    poq.setParams(raised.as_contract_tuple(), sender=owner)
    node = inference_nodes[0]
    play = open_round(slots=1, committee_size=1)
    with reverts_with("StakeTooLow", stake=params.min_stake, required=raised.min_stake):
        poq.commitOutput(play.rid, b"\x01" * 32, sender=node)
    client.transact(node, "addStake", value=ETH)  # back at the new minimum, it may commit again
    play.commit(node)
    play.reveal(node)
    (member,) = members_of(play, evaluators)
    play.commit_scores(member, [WAD])
    play.advance_to(Stage.SETTLEABLE)
    owner_before = client.balance_of(owner.address)
    tx, _ = settle_and_check(poq, client, play, raised, requester)
    assert [(s.node, s.amount) for s in tx.events.filter(poq.Slashed)] == [(member.address, params.min_stake)]
    assert client.node(member.address)["stake"] == 0
    assert client.balance_of(owner.address) - owner_before == params.min_stake


def test_under_staked_node_cannot_commit_until_topped_up(poq, client, open_round, inference_nodes, params):
    node = inference_nodes[0]
    first = open_round(slots=2)
    first.commit(node)
    first.advance_to(Stage.SETTLEABLE)
    first.settle()  # slashed: stake is now below the minimum
    stake = params.min_stake - params.slash_amount
    assert client.node(node.address)["stake"] == stake
    second = open_round(slots=1)
    with reverts_with("StakeTooLow", stake=stake, required=params.min_stake):
        poq.commitOutput(second.rid, b"\x01" * 32, sender=node)
    poq.addStake(sender=node, value=params.slash_amount)
    poq.commitOutput(second.rid, b"\x01" * 32, sender=node)
    assert client.round(second.rid)["stage"] == Stage.REVEAL


def test_a_node_silent_in_parallel_rounds_runs_out_of_stake_and_the_ledger_follows(
        poq, client, open_round, inference_nodes, evaluators, requester, params):
    """Stake is checked at commit only, so one silent node can owe more slashes than its stake; each
    settlement slashes what is left, and the ledger's stake fold gives the reference model the same."""
    plays = [open_round(slots=2, committee_size=2) for _ in range(3)]
    silent, honest = inference_nodes[:2]
    for play in plays:
        play.commit(silent)
        play.commit(honest)
        play.reveal(honest)
    for play in plays:
        play.advance_to(Stage.SCORE_COMMIT)
        members = members_of(play, evaluators)
        for m in members:
            play.commit_scores(m, [WAD])
        for m in members:
            play.reveal_scores(m)
        poq.settle(play.rid, sender=requester)
    events = client.events(from_block=0)  # the stake fold starts at registration
    rounds, stakes = build_rounds(events), stakes_at_settlement(events)
    slashed = [sum(s["amount"] for s in rounds[p.rid].slashes) for p in plays]
    assert slashed == [params.slash_amount, params.slash_amount, params.min_stake - 2 * params.slash_amount]
    assert [stakes[p.rid][silent.address] for p in plays] == [params.min_stake - k * params.slash_amount
                                                             for k in range(3)]
    for play in plays:
        assert check_against_reference(rounds[play.rid], params, stakes[play.rid]) == []
    # Assuming every node still holds min_stake gets the last round wrong.
    assert check_against_reference(rounds[plays[2].rid], params) != []
