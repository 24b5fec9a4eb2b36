"""The simulation's shared types: a drawn round, what each node plays in it, and what settling it paid.

The engine draws and builds ``SimRound``s, scenarios change what the nodes play,
and the two settlement backends (the reference model, the contract on Anvil)
turn them into ``RoundOutcome``s; all of them speak these types, which is why
they live apart from each of them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from oracle.pipeline.records import EvaluatorCost
from oracle.protocol.params import Params
from oracle.protocol.reward import Cost


@dataclass(frozen=True)
class Draw:
    """The random part of a round: task index, the model of each slot, the evaluator of each member."""

    task: int
    models: tuple[str, ...]
    evaluators: tuple[str, ...]


@dataclass(frozen=True)
class SlotPlay:
    """What the node in one inference slot does in a round."""

    model: str  # the profile identity the slot's account plays
    output: str
    cost: Cost  # attested cost
    scores: dict[str, int]  # the WAD score each evaluator gives this output when honest
    item_costs: dict[str, EvaluatorCost]  # what scoring this output costs each evaluator
    reveals: bool = True


@dataclass(frozen=True)
class MemberPlay:
    """What one committee member reveals: a WAD score per revealed slot (slot order) and its cost."""

    evaluator: str
    scores: tuple[int, ...]
    cost: Cost
    commits: bool = True  # False: drawn and absent (never commits; slashed)


@dataclass(frozen=True)
class SimRound:
    index: int
    task_id: str
    kind: str
    slots: tuple[SlotPlay, ...]
    committee: tuple[MemberPlay, ...]

    @property
    def revealed(self) -> list[int]:
        """Indices of the slots that reveal, in slot order (the order of every score list)."""
        return [i for i, s in enumerate(self.slots) if s.reveals]


@dataclass(frozen=True)
class Paid:
    """One payout: ``score`` is quality for a slot, agreement for a member; all WAD or wei."""

    index: int
    score: int
    cost: int
    reward: int
    amount: int


@dataclass(frozen=True)
class RoundOutcome:
    """A settled round in slot/member indices, so both backends' results compare directly."""

    inference: tuple[Paid, ...]  # revealed slots, by slot index
    evaluators: tuple[Paid, ...]  # revealed members, by member index
    slashes: tuple[tuple[str, int], ...]  # (account label, wei), sorted
    paid: int  # payouts and compensation
    refund: int
    # Shares of a forfeited pool (no member scored, or a withheld reference): (account label, wei), sorted.
    compensation: tuple[tuple[str, int], ...] = ()


# Reports progress: (rounds done, rounds in all).
SimProgress = Callable[[int, int], None]


class SettlementBackend(Protocol):
    """Settles simulated rounds: the reference model or the contract on Anvil."""

    name: str

    def run(self, rounds: Sequence[SimRound], params: Params, progress: SimProgress | None = None
            ) -> list[RoundOutcome]: ...
