"""A receiver that re-enters ``withdraw`` while being paid gets what it is owed once, and nothing more."""

from __future__ import annotations

import pytest
from eth_utils import function_signature_to_4byte_selector

from oracle.chain.client import TaskSpec
from oracle.protocol.params import Stage

from .harness import reverts_with

BUDGET = 10**18


@pytest.fixture(params=[False, True], ids=["swallows-reentry", "bubbles-reentry"])
def attacker(request, project, poq, client, owner):
    """A ReentrantReceiver that opened a round which refunded it ``BUDGET``."""
    receiver = project.ReentrantReceiver.deploy(poq.address, request.param, sender=owner)
    rid = client.next_round_id()
    task = TaskSpec(b"\x01" * 32, "data:,", "qa", 1, 1).as_tuple(poq.paramsVersion())
    receiver.openRound(task, sender=owner, value=BUDGET)
    client.advance_to(owner, rid, {Stage.SETTLEABLE})  # nobody commits: the whole budget is refunded
    client.settle(owner, rid)
    assert client.balance_of(receiver.address) == BUDGET
    return receiver


def test_reentrant_withdraw_pays_once(poq, client, attacker, owner):
    pool_before = client.eth_balance(poq.address)
    if attacker.bubble():
        # Its receive() reverts with the re-entry's error, so the payment itself fails: nothing moves.
        with reverts_with("TransferFailed", account=attacker.address, amount=BUDGET):
            attacker.attack(sender=owner)
        assert client.balance_of(attacker.address) == BUDGET
        assert client.eth_balance(attacker.address) == 0
        assert client.eth_balance(poq.address) == pool_before
    else:
        attacker.attack(sender=owner)
        assert attacker.reentries() == 1
        guard = function_signature_to_4byte_selector("ReentrancyGuardReentrantCall()")
        assert bytes(attacker.reentryError()) == guard
        assert client.eth_balance(attacker.address) == BUDGET
        assert client.balance_of(attacker.address) == 0
        assert client.eth_balance(poq.address) == pool_before - BUDGET
        with reverts_with("NothingToWithdraw", account=attacker.address):
            attacker.attack(sender=owner)
