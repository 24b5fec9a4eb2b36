"""The committee draw: ``oracle.protocol.sortition`` reproduces the contract's ``CommitteeDrawn`` members exactly.

``oracle.protocol.sortition.draw`` (over ``draw_weight`` of the chain's state and ``round_seed`` of
``mix_salts`` of the revealed salts) is what the Monte Carlo reference backend draws
committees with, so it must be the contract's rule to the last seat and its order: a
stake-weighted draw, from a seed no block data enters, of evaluators that registered in a
block before the round opened and whose stake, less what they added since, meets the
round's minimum.
"""

from __future__ import annotations

import math
import random
from collections import Counter

from eth_utils import keccak

from oracle.chain.client import TaskSpec
from oracle.protocol.commitments import reference_commitment
from oracle.protocol.params import Role, Stage
from oracle.protocol.sortition import Candidate, draw, draw_weight, key, log2_q32

from .harness import SPARE, RoundPlay, check_settled, draw_candidates, predicted_committee

ETH = 10**18
ROUNDS = 30
REGISTER_BEFORE_OPEN = (3,)  # rounds before whose opening a spare evaluator registers
REGISTER_AFTER_OPEN = (8, 20)  # rounds after whose opening (and before whose draw) one does
WINDOWS = {"commit_window": 4, "reveal_window": 4, "reference_window": 4, "score_commit_window": 12,
           "score_reveal_window": 12}  # a committee of every evaluator commits one by one


def test_log2_and_keys_are_the_integer_algorithm():
    """Spot values of the fixed-point log2 the keys use, and the key's order: more weight, smaller key."""
    assert log2_q32(1) == 0
    assert log2_q32(2) == 1 << 32
    assert log2_q32(2**128) == 128 << 32
    assert log2_q32(3) == math.floor(math.log2(3) * 2**32)
    seed = b"\x07" * 32
    member = "0x" + "ab" * 20
    assert key(seed, member, 2 * ETH) == key(seed, member, ETH) // 2
    assert draw(seed, [Candidate(member, 0)], 1) == []  # weight 0: never drawn


def test_draws_equal_the_contract_over_many_rounds(poq, client, owner, requester, accounts, inference_nodes,
                                                   evaluators, params):
    """Rounds with unequal stakes, evaluators registering before and after rounds open, top-ups after a
    round opened, members slashed below the floor (and topped up again), exits and floor changes: every
    ``CommitteeDrawn`` is ``oracle.protocol.sortition.draw`` of the chain's state, member for member, in order."""
    rng = random.Random(1009)
    # A slash of the whole floor: a member that stays away drops below it until it tops up.
    client.transact(owner, "setParams", params.with_(slash_amount=params.min_stake, **WINDOWS).as_contract_tuple())
    spares = [accounts[i] for i in SPARE]
    pool = list(evaluators)
    account_of = {a.address: a for a in evaluators + spares}
    for e in evaluators:  # unequal stakes from the start
        client.transact(e, "addStake", value=rng.randint(0, 3 * ETH))
    for node in inference_nodes[:4]:  # the outputs' nodes meet every floor the walk sets
        client.transact(node, "addStake", value=ETH)
    client.mine(1)
    seen: Counter = Counter()
    for n in range(ROUNDS):
        # Before the round opens: a registration, top-ups, an exit, a new stake floor.
        if n in REGISTER_BEFORE_OPEN:
            joining = spares.pop()
            client.register(joining, Role.EVALUATOR, 5 * ETH)
            pool.append(joining)
        for e in rng.sample(pool, rng.randint(0, 3)):
            client.transact(e, "addStake", value=rng.randint(1, 3 * ETH // 2))
        if n == ROUNDS // 2:
            client.transact(pool.pop(0), "requestExit")
        if rng.random() < 0.1:
            floor = rng.choice([ETH // 2, ETH, 3 * ETH // 2, 2 * ETH])
            client.transact(owner, "setParams", params.with_(
                min_stake=floor, slash_amount=floor, **WINDOWS).as_contract_tuple())

        rid = client.next_round_id()
        th = keccak(text=f"sortition {rid}")  # any bytes32
        reference = rng.choice([None, "ref"])
        ref_salt = rng.randbytes(32)
        commitment = (reference_commitment(client.chain_id, client.address, requester.address, th, reference,
                                           ref_salt) if reference else b"\x00" * 32)
        size = len(client.view("evaluatorSet"))
        spec = TaskSpec(th, "data:,", "qa", 2, rng.choice([size, rng.randint(1, min(5, size))]), commitment)
        receipt = client.transact(requester, "openRound", spec.as_tuple(client.view("paramsVersion")), value=ETH)
        play = RoundPlay(client, requester, rid, ETH, int(receipt["blockNumber"], 16), th, reference, ref_salt)

        # After it opens and before the draw: top-ups (they must not count) and a late registration.
        for e in rng.sample(pool, rng.randint(0, 1)):
            client.transact(e, "addStake", value=rng.randint(1, ETH))
        if n in REGISTER_AFTER_OPEN:  # drawable from the next round on
            late = spares.pop()
            client.register(late, Role.EVALUATOR, 3 * ETH)
            pool.append(late)
        revealers = rng.sample(inference_nodes[:4], rng.choice([1, 2, 2]))
        for node in revealers:
            play.commit(node)
        play.advance_to(Stage.REVEAL)
        for node in revealers:
            play.reveal(node)
        if reference and rng.random() < 0.7:
            play.reveal_reference()
        play.advance_to(Stage.SCORE_COMMIT, Stage.SETTLEABLE)

        drawn = play.committee()
        if drawn:
            assert predicted_committee(client, rid, play.salts(), play.opened_block) == drawn, f"round {rid}"
        else:
            assert play.stage() == Stage.SETTLEABLE
        candidates = draw_candidates(client, rid, play.events("CommitteeDrawn")[0]["block"] if drawn else "latest")
        weights = {c.address: c.weight for c in candidates}
        assert all(weights[m] > 0 for m in drawn)  # never an under-staked, late or exiting evaluator
        nodes = client.owed_and_nodes([c.address for c in candidates])[1]
        floor = client.params(client.round(rid)["params_version"]).min_stake
        seen["rounds"] += 1
        seen["unequal"] += len({w for w in weights.values() if w}) > 1
        for c in candidates:
            node = nodes[c.address]
            seen["late"] += node["active_at"] > play.opened_block
            seen["topped-up"] += node["recent_at"] >= play.opened_block and c.weight < node["stake"]
            seen["below-floor"] += node["stake"] < floor

        # Settle: some members stay away and are slashed, which moves later draws.
        members = [account_of[m] for m in drawn]
        scorers = [m for m in members if rng.random() < 0.6]
        for m in scorers:
            play.commit_scores(m, [ETH // 2] * len(revealers))
        play.advance_to(Stage.SCORE_REVEAL, Stage.SETTLEABLE)
        for m in scorers:
            play.reveal_scores(m)
        play.advance_to(Stage.SETTLEABLE)
        stakes = client.stakes(list(account_of))
        play.settle()
        settled, _ = check_settled(client, rid, stakes, play.opened_block)  # a committee short of K included
        seen["slashed"] += len(settled.slashes)
        seen["short"] += len(drawn) < client.round(rid)["committee_size"]
    # The walk reached every case the draw weight distinguishes.
    for case in ("unequal", "late", "topped-up", "below-floor", "slashed", "short"):
        assert seen[case] > 0, f"no round had a {case} evaluator: {dict(seen)}"


def test_an_evaluator_registered_in_the_opening_block_is_not_drawable(poq, client, accounts, requester,
                                                                      inference_nodes, evaluators, params):
    """Registered in the block a round opens in, whatever the order of the two transactions, an evaluator
    is not drawable for that round; for one opened a block later it is (the activation delay)."""
    late = accounts[SPARE[0]]
    spec = TaskSpec(b"\x01" * 32, "data:,", "qa", 1, len(evaluators))
    rid, version = client.next_round_id(), client.view("paramsVersion")
    client.rpc("evm_setAutomine", [False])
    try:
        sent = [client.rpc("eth_sendTransaction", [{"from": sender.address, "to": client.address, "value": hex(v),
                                                    "data": client.encode(fn, args), "gas": hex(3_000_000)}])
                for sender, fn, args, v in [(late, "register", [int(Role.EVALUATOR)], 5 * ETH),
                                            (requester, "openRound", [spec.as_tuple(version)], ETH)]]
        client.rpc("evm_mine", [])
    finally:
        client.rpc("evm_setAutomine", [True])
    receipts = [client.rpc("eth_getTransactionReceipt", [h]) for h in sent]
    assert [r["status"] for r in receipts] == ["0x1", "0x1"]
    assert receipts[0]["blockNumber"] == receipts[1]["blockNumber"]
    assert client.view("drawWeight", rid, late.address) == 0
    assert draw_weight(5 * ETH, int(receipts[0]["blockNumber"], 16) + 1, 0, 0, int(receipts[1]["blockNumber"], 16),
                       params.min_stake) == 0
    later = client.next_round_id()
    client.transact(requester, "openRound", TaskSpec(b"\x02" * 32, "data:,", "qa", 1, 1).as_tuple(version),
                    value=ETH)
    assert client.view("drawWeight", later, late.address) == 5 * ETH
    # Drawn as the contract draws: a committee of every evaluator leaves the late one out.
    play = RoundPlay(client, requester, rid, ETH, int(receipts[1]["blockNumber"], 16))
    play.commit(inference_nodes[0])
    play.reveal(inference_nodes[0])
    assert late.address not in play.committee()
    assert sorted(play.committee()) == sorted(e.address for e in evaluators)
    assert play.predicted_committee() == play.committee()
