"""The incentive check: for every deviation, what the deviators gain over honest play, and what stops it.

Each deviation replays the honest rounds (same draws) with one change, as in
``adversary.py``. The gain is the change in average normalised reward of
everyone the deviation serves: the deviating node alone, or the coalition of
colluding evaluators and their partner (a coalition shares its spoils, so its
members' changes add up). Its 95% interval combines both runs' intervals.

Beside each gain: the lever that could make it zero or less, and its
break-even value where the check can compute one:

- cost under-reporting: only an audit can catch it. With audit probability p
  and a penalty P (in the same reward units), it pays while p x P < gain; the
  break-even p for a penalty of one round's full reward is the gain itself.
  beta = 0 removes the gain too, and every cost incentive with it;
- a lazy or copying answer: a quality floor (no reward below a consensus
  quality F). The check replays the recorded plays with every floor from 0 to
  1 in steps of 0.05 and reports the lowest F at which the deviator no longer
  beats its honest play;
- never revealing: the slash (it already loses the reward);
- evaluator deviations (noise, boosting, sabotage, collusion, copying the
  expected consensus): median aggregation where it brings the gain under 0.01;
  otherwise nothing in today's contract stops it.

The rules here are today's contract's; issue 15 adds the mechanisms.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from oracle.protocol.params import WAD, Aggregation, Params
from oracle.simulation.adversary import AGGREGATIONS, Settlements
from oracle.simulation.population import TOLERANCE
from oracle.simulation.record_pool import ProfilePool
from oracle.simulation.scenarios import (
    ConsensusCopier,
    NeverReveals,
    ProbeAnswer,
    Scenario,
    UnderReportedCost,
    scenarios,
)
from oracle.simulation.stats import Plays, by_name

FACTORS = (2, 4, 8)  # cost under-reporting: attests 1/2, 1/4, 1/8 of each measure
FLOORS = tuple(i / 20 for i in range(21))


@dataclass(frozen=True)
class Incentive:
    deviation: str
    description: str
    gainers: tuple[str, ...]  # who shares the gain
    rule: str  # aggregation
    gain: float
    ci: float  # 95% half-width
    lever: str
    break_even: str

    @property
    def pays(self) -> bool:
        """Whether deviating pays more than the tolerance, beyond sampling error."""
        return self.gain - self.ci > TOLERANCE


def deviations(pool: ProfilePool) -> list[Scenario]:
    """Every deviation the pool supports: the adversary scenarios, cost under-reporting at several factors,
    and an evaluator that copies the consensus it expects instead of scoring."""
    catalogue = scenarios(pool)
    weakest = min(pool.models, key=pool.mean_score)
    first = pool.evaluators[0]
    out: list[Scenario] = [UnderReportedCost(f"cost-underreport-x{k}", f"{weakest} attests 1/{k} of every cost "
                                             "measure", (weakest,), weakest, factor=k) for k in FACTORS]
    out += [s for name, s in catalogue.items() if name not in ("honest", "cost-underreport")]
    means = tuple((m, round(pool.mean_score(m, (first,)) * WAD)) for m in pool.models)
    out.append(ConsensusCopier("copying-evaluator", f"{first} scores each output its model's average {first} "
                               "score instead of scoring it", (first,), None, means=means))
    return out


def _gainers(scenario: Scenario) -> tuple[str, ...]:
    return tuple(dict.fromkeys([*scenario.adversaries, *([scenario.beneficiary] if scenario.beneficiary else [])]))


def _floor_break_even(honest: Plays, deviant: Plays) -> str:
    """The lowest quality floor at which the deviator's rewards, floored, no longer beat its honest ones."""
    def floored(p: Plays, floor: float) -> float:
        pairs = list(zip(p.rewards, p.scores, strict=True))
        return sum(r for r, q in pairs if q >= floor) / len(pairs) if pairs else 0.0

    for floor in FLOORS:
        if floored(deviant, floor) <= floored(honest, floor):
            return "none needed: it loses already" if floor == 0 else f"quality floor F >= {floor:.2f}"
    return "no floor up to 1.0"


def check(settlements: Settlements, params: Params, devs: Sequence[Scenario] | None = None) -> list[Incentive]:
    """The incentive table: every deviation under each aggregation rule, with its lever."""
    devs = list(devs) if devs is not None else deviations(settlements.pool)
    honest = Scenario()
    rows = []
    kept: dict[tuple[str, Params], dict[str, Plays]] = {}

    def plays(scenario: Scenario, p: Params) -> dict[str, Plays]:
        """Plays settled once per (scenario, rule); settling them also keeps their stats for ``stats``."""
        if (scenario.name, p) not in kept:
            kept[scenario.name, p] = settlements.plays(scenario, p)
        return kept[scenario.name, p]

    # A quality floor replays the plays: settle those first, so reading their stats settles nothing again.
    for probe_dev in (d for d in devs if isinstance(d, ProbeAnswer)):
        for how in AGGREGATIONS:
            plays(honest, params.with_(aggregation=how))
            plays(probe_dev, params.with_(aggregation=how))
    for dev in devs:
        gainers = _gainers(dev)
        gains: dict[Aggregation, tuple[float, float]] = {}
        for how in AGGREGATIONS:
            p = params.with_(aggregation=how)
            base = by_name(settlements.stats(honest, p))
            now = by_name(settlements.stats(dev, p))
            gain = sum(now[g].mean_reward - base[g].mean_reward for g in gainers)
            ci = math.sqrt(sum(now[g].ci95 ** 2 + base[g].ci95 ** 2 for g in gainers))
            gains[how] = gain, ci
        for how in AGGREGATIONS:
            gain, ci = gains[how]
            pays = gain - ci > TOLERANCE
            lever, even = _lever(plays, params.with_(aggregation=how), dev, gains, pays)
            rows.append(Incentive(dev.name, dev.description, gainers, how.name.lower(), gain, ci, lever, even))
    return rows


def _lever(plays: Callable[[Scenario, Params], dict[str, Plays]], params: Params, dev: Scenario,
           gains: dict[Aggregation, tuple[float, float]], pays: bool) -> tuple[str, str]:
    gain, _ = gains[params.aggregation]
    if isinstance(dev, UnderReportedCost):
        return ("an audit of attested costs (none in today's contract); beta = 0",
                f"audit probability x penalty >= {max(gain, 0.0):.3f} (in round rewards)")
    if isinstance(dev, ProbeAnswer):
        node = dev.adversaries[0]
        honest = plays(Scenario(), params)[node]
        deviant = plays(dev, params)[node]
        return "a quality floor (none in today's contract)", _floor_break_even(honest, deviant)
    if isinstance(dev, NeverReveals):
        return "the slash", "already loses: the slash only adds to the lost reward" if gain <= 0 else \
            f"a slash worth more than {gain:.3f} of a round's reward"
    mean, median = gains[Aggregation.MEAN][0], gains[Aggregation.MEDIAN][0]
    if not pays:
        return "none needed", "does not pay beyond sampling error"
    if median <= TOLERANCE < mean:
        return "median aggregation", f"median (gain {median:+.3f})"
    return "none in today's contract", "evaluator trust from probes with known answers (issue 15)"
