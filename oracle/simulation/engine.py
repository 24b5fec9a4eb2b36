"""Rounds drawn from a seed: which task, which model in each slot, which evaluators score.

A round draws a task uniformly from the pool, the models that fill the ``n``
inference slots, and a committee of ``K`` distinct evaluators, then takes each
slot's recorded output, cost and scores for that task. Slots: while
``n <= models`` every slot plays a different model; beyond that every model
plays ``n // models`` slots and the remaining ``n % models`` slots go to
distinct models drawn at random, so no model is left out of a round and none
plays more than one slot above its share. A model in two slots reveals the
same recorded answer twice (as one operator running two nodes would).

The draws depend on the seed alone, never on the scenario or the backend, so
an adversary scenario replays the honest rounds with only its deviations and
both backends settle the very same rounds.
"""

from __future__ import annotations

import gc
import random
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from oracle.protocol.params import WAD, Params
from oracle.protocol.reward import Cost
from oracle.simulation.record_pool import ProfileError, ProfilePool
from oracle.simulation.scenarios import Scenario
from oracle.simulation.types import Draw, MemberPlay, SimProgress, SimRound, SlotPlay

# Every simulated round's budget: 1 ETH, so a slot's payout is pool / n * reward / WAD.
ROUND_BUDGET = 10**18
# Every round of every scenario played is kept in memory (a few KB each), so a run is bounded:
# 100,000 rounds is 20 times the paper's 5,000; more seeds, not more rounds, narrow the intervals further.
MAX_ROUNDS = 100_000
# Rounds between two progress reports while drawing or building rounds.
PROGRESS_EVERY = 500


@dataclass(frozen=True)
class SimulationConfig:
    rounds: int = 5_000
    slots: int = 5
    committee: int = 3
    seed: int = 0

    def validate(self, pool: ProfilePool) -> None:
        if not 1 <= self.rounds <= MAX_ROUNDS:
            raise ValueError(f"--rounds {self.rounds}: give 1 to {MAX_ROUNDS:,} rounds (every round is kept in "
                             "memory; run more seeds for tighter intervals)")
        if not 1 <= self.slots <= 64:
            raise ValueError(f"--slots {self.slots}: the contract takes 1 to 64 inference slots")
        if not 1 <= self.committee <= len(pool.evaluators):
            raise ProfileError(f"--committee {self.committee}: the profile has {len(pool.evaluators)} usable "
                               f"evaluators ({', '.join(pool.evaluators)}): give 1 to {len(pool.evaluators)}")


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a run builds and keeps its rounds.

    The rounds, plays and outcomes a run keeps are tuples and frozen dataclasses without cycles, so
    reference counting frees all of them; the cyclic collector would only walk the growing list of
    kept rounds again and again, a quarter of a reference run's time (measured in BENCHMARKS.md)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


@cyclic_gc_paused()
def draw_rounds(pool: ProfilePool, config: SimulationConfig, progress: SimProgress | None = None) -> list[Draw]:
    """The seeded draws of ``config.rounds`` rounds; ``progress(done, total)`` every few hundred."""
    config.validate(pool)
    rng = random.Random(config.seed)
    models = list(pool.models)
    share, extra = divmod(config.slots, len(models))
    draws = []
    for k in range(config.rounds):
        task = rng.randrange(len(pool.tasks))
        slot_models = models * share + rng.sample(models, extra)
        rng.shuffle(slot_models)
        draws.append(Draw(task, tuple(slot_models), tuple(rng.sample(pool.evaluators, config.committee))))
        if progress and ((k + 1) % PROGRESS_EVERY == 0 or k + 1 == config.rounds):
            progress(k + 1, config.rounds)
    return draws


def committee_cost(evaluator: str, slots: Sequence[SlotPlay]) -> Cost:
    """What ``evaluator`` attests for scoring one round's revealed outputs: the items' latencies
    and tokens add up; peak memory is the largest item's."""
    costs = [s.item_costs[evaluator] for s in slots]
    if not costs:
        return Cost(0, 0, 0)
    return Cost.measured(sum(c.latency_ms for c in costs), sum(int(c.tokens) for c in costs),
                         max(c.peak_memory_mb for c in costs))


@cyclic_gc_paused()
def sim_rounds(pool: ProfilePool, draws: Sequence[Draw], scenario: Scenario, seed: int,
                 progress: SimProgress | None = None) -> list[SimRound]:
    """Play ``draws`` under ``scenario``; its own randomness (noise) is seeded by ``seed`` and its name.

    ``progress(done, total)`` is called every few hundred rounds."""
    rng = random.Random(f"{seed}:{scenario.name}")
    rounds = []
    for index, draw in enumerate(draws):
        task = pool.tasks[draw.task]
        slots = tuple(scenario.slot(task.entries[m], task, rng) for m in draw.models)
        revealed = [s for s in slots if s.reveals]
        committee = tuple(
            MemberPlay(e, tuple(clamp_wad(x) for x in scenario.score(e, revealed, rng)),
                       committee_cost(e, revealed))
            for e in draw.evaluators)
        rounds.append(SimRound(index, task.task_id, task.kind, slots, committee))
        if progress and ((index + 1) % PROGRESS_EVERY == 0 or index + 1 == len(draws)):
            progress(index + 1, len(draws))
    return rounds


def clamp_wad(x: int) -> int:
    """A score the contract accepts: an integer in [0, WAD]."""
    return max(0, min(WAD, int(x)))


def initial_stakes(rounds: Sequence[SimRound], params: Params) -> list[int]:
    """Each slot account's registration stake: the minimum plus one slash per round in which
    it will commit and not reveal, so it stays eligible through every round."""
    stakes = [params.min_stake] * len(rounds[0].slots)
    for r in rounds:
        for i, s in enumerate(r.slots):
            if not s.reveals:
                stakes[i] += params.slash_amount
    return stakes
