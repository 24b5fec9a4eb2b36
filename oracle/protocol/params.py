"""Protocol parameters: the one typed home of every default.

The contract's `Params` struct, the deploy scripts, the simulator and the
reference model all read these dataclasses, so a default is written once.
Every WAD value is an integer scaled by 1e18 (1.0 == WAD).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from enum import IntEnum

WAD = 10**18
# The contract's bounds (``PoQ.MAX_WINDOW``, ``PoQ.MAX_UNBONDING``) and the width of its stake and budget fields.
MAX_WINDOW = 50_400
MAX_UNBONDING = 201_600
UINT96_MAX = 2**96 - 1
# Every cost and cost reference is a uint64 on the contract.
UINT64_MAX = 2**64 - 1
# A round's limits (``PoQ.MAX_SLOTS``, ``PoQ.MAX_COMMITTEE``), and the evaluator set's (``PoQ.MAX_EVALUATORS``).
MAX_SLOTS = 64
MAX_COMMITTEE = 16
MAX_EVALUATORS = 256


def to_wad(score: float) -> int:
    """A [0, 1] score as a WAD integer (the contract's fixed point), rounded to nearest and clamped."""
    return max(0, min(WAD, round(score * WAD)))


class Aggregation(IntEnum):
    """How a committee's scores of one output become its quality (contract enum order)."""

    MEAN = 0
    MEDIAN = 1


class Role(IntEnum):
    """The role a node registers for (contract enum order)."""

    NONE = 0
    INFERENCE = 1
    EVALUATOR = 2


class Entry(IntEnum):
    """Where a node stands in one round (contract enum order); ``MEMBER``: drawn, not yet committed."""

    NONE = 0
    MEMBER = 1
    COMMITTED = 2
    REVEALED = 3


class Stage(IntEnum):
    """A round's stage (contract enum order)."""

    NONE = 0
    COMMIT = 1
    REVEAL = 2
    REFERENCE = 3
    SCORE_COMMIT = 4
    SCORE_REVEAL = 5
    SETTLEABLE = 6
    SETTLED = 7

    @property
    def label(self) -> str:
        """The contract's spelling (``ScoreCommit``), as the ledger, the explorer and the logs show it."""
        return "".join(word.capitalize() for word in self.name.split("_"))

    @classmethod
    def of_label(cls, label: str) -> Stage:
        return next(s for s in cls if s.label == label)


@dataclass(frozen=True)
class CostModel:
    """Maps an attested cost to [0, WAD]: ``min(WAD, sum_k w_k * x_k // ref_k)``.

    The weights sum to WAD; a reference is the measure that alone costs its whole weight.
    """

    w_latency: int
    w_tokens: int
    w_memory: int
    ref_latency_ms: int
    ref_tokens: int
    ref_memory_mb: int

    def as_tuple(self) -> tuple[int, ...]:
        return (self.w_latency, self.w_tokens, self.w_memory,
                self.ref_latency_ms, self.ref_tokens, self.ref_memory_mb)


# Defaults for small CPU models: 5 s of latency, 256 output tokens or 4 GB of
# peak memory each alone make an output "fully expensive". `poq eval` suggests
# references from measured profiles (see oracle/pipeline/cost_profile.py).
DEFAULT_INFERENCE_COST = CostModel(
    w_latency=WAD // 2, w_tokens=WAD // 5, w_memory=WAD * 3 // 10,
    ref_latency_ms=5_000, ref_tokens=256, ref_memory_mb=4_096,
)
DEFAULT_EVALUATOR_COST = CostModel(
    w_latency=WAD // 2, w_tokens=WAD // 5, w_memory=WAD * 3 // 10,
    ref_latency_ms=2_000, ref_tokens=2_048, ref_memory_mb=4_096,
)


@dataclass(frozen=True)
class Params:
    """Owner-set protocol parameters, field for field the contract's ``PoQ.Params``."""

    alpha_inference: int = WAD
    beta_inference: int = WAD * 3 // 10
    alpha_evaluator: int = WAD
    beta_evaluator: int = WAD * 3 // 10
    inference_share: int = WAD * 8 // 10
    inference_cost: CostModel = field(default_factory=lambda: DEFAULT_INFERENCE_COST)
    evaluator_cost: CostModel = field(default_factory=lambda: DEFAULT_EVALUATOR_COST)
    commit_window: int = 20
    reveal_window: int = 20
    reference_window: int = 20
    score_commit_window: int = 20
    score_reveal_window: int = 20
    unbonding_blocks: int = 50
    min_stake: int = 10**18
    slash_amount: int = 5 * 10**17
    aggregation: Aggregation = Aggregation.MEAN
    # A round's least budget: below it a slot's pay is dust that does not cover a reveal's gas.
    min_budget: int = 10**15

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Reject what the contract's ``setParams`` would reject, with the fix in the message."""
        for name in ("alpha_inference", "beta_inference", "alpha_evaluator", "beta_evaluator",
                     "inference_share"):
            value = getattr(self, name)
            if not 0 <= value <= WAD:
                raise ValueError(f"{name}={value} is outside [0, WAD={WAD}]: give a WAD-scaled fraction")
        for name in ("inference_cost", "evaluator_cost"):
            m: CostModel = getattr(self, name)
            total = m.w_latency + m.w_tokens + m.w_memory
            if total != WAD:
                raise ValueError(f"{name} weights sum to {total}, not WAD={WAD}: rescale them")
            for ref in ("ref_latency_ms", "ref_tokens", "ref_memory_mb"):
                if getattr(m, ref) <= 0:
                    raise ValueError(f"{name}.{ref}={getattr(m, ref)} must be positive")
        for name in ("commit_window", "reveal_window", "reference_window", "score_commit_window",
                     "score_reveal_window"):
            if not 0 < getattr(self, name) <= MAX_WINDOW:
                raise ValueError(f"{name}={getattr(self, name)} must be in [1, {MAX_WINDOW}] blocks")
        if not 0 <= self.unbonding_blocks <= MAX_UNBONDING:
            raise ValueError(f"unbonding_blocks={self.unbonding_blocks} must be in [0, {MAX_UNBONDING}] blocks")
        for name in ("min_stake", "min_budget", "slash_amount"):
            value = getattr(self, name)
            if not (0 if name == "slash_amount" else 1) <= value <= UINT96_MAX:
                raise ValueError(f"{name}={value} must be a positive wei amount below 2**96")
        if self.slash_amount > self.min_stake:
            raise ValueError(f"slash_amount={self.slash_amount} exceeds min_stake={self.min_stake}")

    def with_(self, **changes) -> Params:
        """A copy with ``changes`` applied (and validated)."""
        return replace(self, **changes)

    def as_contract_tuple(self) -> tuple:
        """The ``PoQ.Params`` struct as the ABI encoder wants it (field order matters)."""
        return (
            self.alpha_inference, self.beta_inference, self.alpha_evaluator, self.beta_evaluator,
            self.inference_share, self.min_stake, self.min_budget,
            self.commit_window, self.reveal_window, self.reference_window,
            self.score_commit_window, self.score_reveal_window, self.unbonding_blocks, int(self.aggregation),
            self.slash_amount, self.inference_cost.as_tuple(), self.evaluator_cost.as_tuple(),
        )

    def to_dict(self) -> dict:
        d = asdict(self)
        d["aggregation"] = self.aggregation.name.lower()
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Params:
        """The inverse of ``to_dict`` (what a deployment file stores)."""
        d = dict(d)
        d["inference_cost"] = CostModel(**d["inference_cost"])
        d["evaluator_cost"] = CostModel(**d["evaluator_cost"])
        d["aggregation"] = Aggregation[d["aggregation"].upper()]
        return cls(**d)

    @classmethod
    def from_contract_tuple(cls, t: Sequence) -> Params:
        """The inverse of ``as_contract_tuple``: what the contract's ``params(version)`` view returns."""
        (alpha_i, beta_i, alpha_e, beta_e, share, min_stake, min_budget, commit, reveal, reference, score_commit,
         score_reveal, unbonding, aggregation, slash, inf_cost, ev_cost) = t
        return cls(alpha_inference=alpha_i, beta_inference=beta_i, alpha_evaluator=alpha_e, beta_evaluator=beta_e,
                   inference_share=share, inference_cost=CostModel(*inf_cost), evaluator_cost=CostModel(*ev_cost),
                   commit_window=commit, reveal_window=reveal, reference_window=reference,
                   score_commit_window=score_commit, score_reveal_window=score_reveal, unbonding_blocks=unbonding,
                   min_stake=min_stake, slash_amount=slash, aggregation=Aggregation(aggregation),
                   min_budget=min_budget)
