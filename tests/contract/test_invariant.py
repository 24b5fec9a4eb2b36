"""Invariant: PoQ holds exactly the ETH it owes, after every step of a random walk of calls.

    balance(PoQ) == sum(stakes) + sum(withdrawable balances) + sum(budgets of unsettled rounds)

The walk (seeded, so a failure replays) mixes every external call with random
actors, rounds and arguments, valid or not: registration, top-ups, exits,
opening, commits, honest and tampered reveals, references, scores, settlement,
withdrawals, parameter changes and mined blocks. A reverted call must change
nothing; a successful one must move value only between those three pots.
"""

from __future__ import annotations

import random
from collections import Counter

import pytest

from oracle.chain import ContractRevert, TaskSpec
from oracle.commitments import reference_commitment
from oracle.ledger import build_rounds
from oracle.params import WAD, Role, Stage
from oracle.reward import Cost
from oracle.rounds import task_hash

from .harness import FastClient, RoundPlay

ETH = 10**18
STEPS = 200  # each walk: at least 200 random actions, the invariant checked after every one
# Windows long enough that a round's stages see several actions among the walk's random ones.
WINDOWS = {"commit_window": 40, "reveal_window": 40, "reference_window": 15, "score_commit_window": 40,
           "score_reveal_window": 40}
SEEDS = (20251, 77)


class Walk:
    """Random actions against one PoQ; ``play`` of each round remembers what was committed."""

    def __init__(self, client: FastClient, rng: random.Random, owner, requesters, nodes, evaluators, spares,
                 params) -> None:
        self.client, self.rng, self.owner, self.params = client, rng, owner, params
        self.requesters, self.nodes, self.evaluators, self.spares = requesters, nodes, evaluators, spares
        self.everyone = [owner, *requesters, *nodes, *evaluators, *spares]
        self.plays: dict[int, RoundPlay] = {}
        self.references: dict[int, str] = {}
        self.outcomes: Counter = Counter()
        self.log: list[str] = []

    # ------------------------------------------------------------------ actions

    def register(self):
        who = self.rng.choice(self.spares + self.nodes[:1])
        stake = self.rng.choice([self.params.min_stake - 1, self.params.min_stake, 3 * ETH])
        self.client.register(who, self.rng.choice([Role.INFERENCE, Role.EVALUATOR]), stake)

    def add_stake(self):
        self.client.transact(self.rng.choice(self.everyone), "addStake", value=self.rng.randint(1, ETH))

    def request_exit(self):
        self.client.transact(self.rng.choice(self.nodes + self.evaluators + self.spares), "requestExit")

    def complete_exit(self):
        self.client.transact(self.rng.choice(self.nodes + self.evaluators + self.spares), "completeExit")

    def open_round(self):
        requester = self.rng.choice(self.requesters)
        rid = self.client.next_round_id()
        th = task_hash({"walk": rid})
        reference = self.rng.choice([None, "Denver Broncos"])
        commitment = (reference_commitment(self.client.chain_id, self.client.address, requester.address, th,
                                           reference, b"\x11" * 32) if reference else b"\x00" * 32)
        budget = self.rng.choice([1, self.rng.randint(1, 5 * ETH)])
        spec = TaskSpec(th, "data:,", "qa", self.rng.randint(1, 4), self.rng.randint(1, 3), commitment)
        receipt = self.client.transact(requester, "openRound", spec.as_tuple(), value=budget)
        self.plays[rid] = RoundPlay(self.client, requester, rid, budget, int(receipt["blockNumber"], 16))
        if reference:
            self.references[rid] = reference

    def _play(self, stage: Stage | None = None) -> RoundPlay:
        """Mostly a round whose stored stage is ``stage`` (if any is), otherwise any round."""
        if not self.plays:
            self.open_round()
        rids = list(self.plays)
        if stage is not None and self.rng.random() < 0.85:
            stored = self.client.views([("round", [rid]) for rid in rids])
            in_stage = [rid for rid, (r, expired) in zip(rids, stored) if r[1] == stage and not expired]
            expired = [rid for rid, (_, is_expired) in zip(rids, stored) if is_expired]
            if not in_stage and expired:  # poke a round past its deadline; it may land in ``stage``
                rid = self.rng.choice(expired)
                self.client.advance(self.plays[rid].requester, rid)
                return self.plays[rid]
            rids = in_stage or rids
        return self.plays[self.rng.choice(rids)]

    def _account(self, address: str):
        return next(a for a in self.everyone if a.address == address)

    def commit(self):
        play = self._play(Stage.COMMIT)
        fresh = [n for n in self.nodes + self.spares if n.address not in play.outputs]
        cost = Cost(self.rng.randint(0, 10_000), self.rng.randint(0, 500), self.rng.randint(0, 8_000))
        play.commit(self.rng.choice(fresh or self.nodes), f"out {self.rng.random()}", cost)

    def reveal(self):
        play = self._play(Stage.REVEAL)
        if not play.outputs:
            return self.commit()
        node = self._account(self.rng.choice(list(play.outputs)))
        if self.rng.random() < 0.15:  # a reveal that does not match its commitment
            e = play.outputs[node.address]
            self.client.reveal_output(node, play.rid, e.payload + "!", e.cost, e.salt)
        else:
            play.reveal(node)

    def reveal_reference(self):
        play = self._play(Stage.REFERENCE)
        self.client.reveal_reference(play.requester, play.rid, self.references.get(play.rid, "?"), b"\x11" * 32)

    def commit_scores(self):
        play = self._play(Stage.SCORE_COMMIT)
        committee = [a for a in play.committee() if a not in play.scores]
        pool = [self._account(a) for a in committee] if committee and self.rng.random() < 0.9 else self.evaluators
        outputs = self.client.round(play.rid)["reveals"]
        scores = [self.rng.choice([0, WAD, self.rng.randint(0, WAD), self.rng.randint(0, WAD), WAD + 1])
                  for _ in range(outputs)]
        play.commit_scores(self.rng.choice(pool), scores, Cost(self.rng.randint(0, 3_000), 100, 500))

    def reveal_scores(self):
        play = self._play(Stage.SCORE_REVEAL)
        if not play.scores:
            return self.commit_scores()
        play.reveal_scores(self._account(self.rng.choice(list(play.scores))))

    def settle(self):
        self._play(Stage.SETTLEABLE).settle()

    def advance(self):
        play = self._play()
        self.client.advance(play.requester, play.rid)

    def withdraw(self):
        owed, _ = self.client.owed_and_nodes([a.address for a in self.everyone])
        creditors = [a for a in self.everyone if owed[a.address]]
        self.client.withdraw(self.rng.choice(creditors if creditors and self.rng.random() < 0.8 else self.everyone))

    def set_params(self):
        min_stake = self.rng.choice([ETH // 2, ETH])
        new = self.params.with_(min_stake=min_stake, slash_amount=self.rng.randint(0, min_stake), **WINDOWS)
        self.client.transact(self.owner, "setParams", new.as_contract_tuple())

    def mine(self):
        self.client.mine(self.rng.randint(1, 10))

    ACTIONS = {"register": 2, "add_stake": 2, "request_exit": 1, "complete_exit": 2, "open_round": 5,
               "commit": 14, "reveal": 12, "reveal_reference": 2, "commit_scores": 10, "reveal_scores": 9,
               "settle": 6, "advance": 3, "withdraw": 5, "set_params": 1, "mine": 5}

    def step(self) -> None:
        name = self.rng.choices(list(self.ACTIONS), weights=list(self.ACTIONS.values()))[0]
        try:
            getattr(self, name)()
            self.outcomes[name] += 1
            self.log.append(name)
        except ContractRevert as exc:
            self.outcomes[f"{name} reverted {exc.name}"] += 1
            self.log.append(f"{name} reverted {exc.name}")

    # ------------------------------------------------------------------ invariant

    def holdings(self) -> tuple[int, int]:
        """(PoQ's ETH balance, stakes + withdrawable balances + unsettled budgets)."""
        addresses = [a.address for a in self.everyone]
        rounds = list(range(1, self.client.next_round_id()))
        values = self.client.views([("balances", [a]) for a in addresses] + [("nodes", [a]) for a in addresses]
                                   + [("round", [rid]) for rid in rounds])
        owed = sum(values[:len(addresses)])
        staked = sum(node[3] for node in values[len(addresses):2 * len(addresses)])
        unsettled = sum(r[0][11] + r[0][12] for r in values[2 * len(addresses):] if r[0][1] != Stage.SETTLED)
        return self.client.eth_balance(self.client.address), owed + staked + unsettled


@pytest.mark.parametrize("seed", SEEDS)
def test_balance_covers_stakes_balances_and_open_budgets(poq, client, params, accounts, owner, requester,
                                                         outsider, inference_nodes, evaluators, seed):
    walk = Walk(client, random.Random(seed), owner, [requester, outsider], inference_nodes, evaluators,
                [accounts[i] for i in (16, 17, 18)], params)
    first_block = client.block_number()
    client.transact(owner, "setParams", params.with_(**WINDOWS).as_contract_tuple())
    held, owed = walk.holdings()
    assert held == owed
    for i in range(STEPS):
        walk.step()
        held, owed = walk.holdings()
        assert held == owed, f"step {i} ({walk.log[-1]}): PoQ holds {held} wei but owes {owed}; " \
                             f"last steps {walk.log[-10:]}"
    # The walk reached every corner that moves value, not only reverts.
    for name in ("open_round", "commit", "reveal", "commit_scores", "reveal_scores", "settle", "withdraw"):
        assert walk.outcomes[name] > 0, f"seed {seed} never completed {name}: {dict(walk.outcomes)}"
    settled = [r for r in build_rounds(client.events(from_block=first_block)).values() if r.settled]
    assert settled and all(r.paid + r.refund == r.budget for r in settled)
    assert any(r.slashes for r in settled) and any(r.evaluator_paid for r in settled)
