"""Nodes join with a stake, top it up, and leave through an unbonding delay that waits for their rounds."""

from __future__ import annotations

import pytest

from oracle.protocol.params import Role, Stage

from .harness import SPARE, fast_reverts_with, land_next_tx_at, reverts_with

ETH = 10**18


@pytest.mark.parametrize("role", [Role.INFERENCE, Role.EVALUATOR], ids=["inference", "evaluator"])
def test_register_stakes_and_records_the_role(poq, client, accounts, role):
    node = accounts[SPARE[0]]
    before = client.eth_balance(poq.address)
    evaluators_before = client.view("evaluatorSet")
    tx = poq.register(int(role), sender=node, value=2 * ETH)
    # Drawable only for rounds opened after the block it registered in.
    assert [(e.node, e.role, e.stake, e.activeAt) for e in tx.events.filter(poq.NodeRegistered)] == [
        (node.address, role, 2 * ETH, tx.block_number + 1)]
    set_index = len(evaluators_before) + 1 if role == Role.EVALUATOR else 0
    assert client.node(node.address) == {"role": role, "set_index": set_index, "pending_rounds": 0,
                                         "active_at": tx.block_number + 1, "exitable_at": 0, "recent_at": 0,
                                         "stake": 2 * ETH}
    assert client.eth_balance(poq.address) == before + 2 * ETH
    expected_set = evaluators_before + ([node.address] if role == Role.EVALUATOR else [])
    assert client.view("evaluatorSet") == expected_set


def test_add_stake(poq, client, inference_nodes, params):
    """A top-up is dated: the stake it adds (with every earlier top-up) is left out of the draw weight of
    rounds opened until its block."""
    node = inference_nodes[0]
    tx = poq.addStake(sender=node, value=3)
    assert [(e.node, e.amount, e.stake) for e in tx.events.filter(poq.StakeAdded)] == [
        (node.address, 3, params.min_stake + 3)]
    assert client.node(node.address)["stake"] == params.min_stake + 3
    assert (client.node(node.address)["recent_at"], client.view("recentStake", node.address)) == (
        tx.block_number, 3)
    tx = poq.addStake(sender=node, value=4)
    assert (client.node(node.address)["recent_at"], client.view("recentStake", node.address)) == (
        tx.block_number, 7)


def test_stake_above_uint96_is_refused(poq, client, accounts, inference_nodes):
    node, rich = inference_nodes[0], accounts[SPARE[1]]
    client.rpc("anvil_setBalance", [rich.address, hex(2**98)])
    client.rpc("anvil_setBalance", [node.address, hex(2**98)])
    with reverts_with("StakeTooHigh", stake=2**96):
        poq.register(int(Role.EVALUATOR), sender=rich, value=2**96)
    stake = client.node(node.address)["stake"]
    with fast_reverts_with(client, "StakeTooHigh", stake=stake + 2**96 - 1):
        client.transact(node, "addStake", value=2**96 - 1)


def test_register_twice_reverts(poq, client, inference_nodes):
    with reverts_with("AlreadyRegistered", node=inference_nodes[0].address):
        poq.register(int(Role.EVALUATOR), sender=inference_nodes[0], value=ETH)


def test_register_as_none_reverts(poq, client, accounts):
    with reverts_with("InvalidRole"):
        poq.register(int(Role.NONE), sender=accounts[SPARE[0]], value=ETH)


def test_register_below_min_stake_reverts(poq, client, accounts, params):
    with reverts_with("StakeTooLow", stake=params.min_stake - 1, required=params.min_stake):
        poq.register(int(Role.INFERENCE), sender=accounts[SPARE[0]], value=params.min_stake - 1)


def test_unclient_cannot_add_stake_or_exit(poq, client, outsider):
    with reverts_with("NotRegisteredAs", node=outsider.address, role=Role.NONE):
        poq.addStake(sender=outsider, value=1)
    with reverts_with("NotRegisteredAs", node=outsider.address, role=Role.NONE):
        poq.requestExit(sender=outsider)


def test_wrong_role_cannot_commit(poq, client, open_round, evaluators):
    play = open_round()
    with reverts_with("NotRegisteredAs", node=evaluators[0].address, role=Role.INFERENCE):
        poq.commitOutput(play.rid, b"\x01" * 32, sender=evaluators[0])


def test_exit_with_unbonding(poq, client, evaluators, params):
    """requestExit leaves the evaluator set at once; the stake is released after the unbonding delay."""
    node = evaluators[1]
    others = [e.address for e in evaluators if e is not node]
    tx = poq.requestExit(sender=node)
    (requested,) = tx.events.filter(poq.ExitRequested)
    assert requested.exitableAt == tx.block_number + params.unbonding_blocks
    assert sorted(client.view("evaluatorSet")) == sorted(others)
    # The last of the set took the leaver's place, and its index follows it.
    assert [client.node(a)["set_index"] for a in client.view("evaluatorSet")] == list(
        range(1, len(others) + 1))
    assert client.node(node.address)["set_index"] == 0
    with reverts_with("NodeExiting", node=node.address):
        poq.requestExit(sender=node)

    land_next_tx_at(client, requested.exitableAt - 1)
    with reverts_with("ExitNotReady", exitableAt=requested.exitableAt, pendingRounds=0):
        poq.completeExit(sender=node)  # mined in exitableAt - 1: one block early
    tx = poq.completeExit(sender=node)
    assert [(e.node, e.stake) for e in tx.events.filter(poq.ExitCompleted)] == [(node.address, params.min_stake)]
    assert client.node(node.address)["role"] == Role.NONE
    assert client.balance_of(node.address) == params.min_stake
    eth_before = client.eth_balance(node.address)
    tx = poq.withdraw(sender=node)
    assert client.eth_balance(node.address) - eth_before == params.min_stake - tx.total_fees_paid
    # Having left, it may join again.
    poq.register(int(Role.EVALUATOR), sender=node, value=params.min_stake)
    assert node.address in client.view("evaluatorSet")


def test_exit_waits_for_pending_rounds(poq, client, open_round, inference_nodes, params, requester):
    node = inference_nodes[0]
    play = open_round(slots=2)
    play.commit(node)
    tx = poq.requestExit(sender=node)
    (requested,) = tx.events.filter(poq.ExitRequested)
    other = open_round(slots=1)
    with reverts_with("NodeExiting", node=node.address):
        poq.commitOutput(other.rid, b"\x01" * 32, sender=node)  # no new rounds once leaving
    play.advance_to(Stage.REVEAL)
    play.reveal(node)  # an exiting node still finishes the rounds it is in
    land_next_tx_at(client, requested.exitableAt + 1)
    with reverts_with("ExitNotReady", exitableAt=requested.exitableAt, pendingRounds=1):
        poq.completeExit(sender=node)
    play.advance_to(Stage.SETTLEABLE)
    play.settle()
    poq.completeExit(sender=node)
    assert client.node(node.address)["role"] == Role.NONE

