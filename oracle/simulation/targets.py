"""Issue 15's incentive targets, judged on the network incentive check (``network_incentives``).

Each target is met or not per aggregation rule, beyond sampling error where the
target is a bound (a gain "at most 0" is met while the gain's 95% interval
reaches 0 or below; "less than honest play" needs the whole interval below 0):

- cost under-reporting, at every factor: gain at most 0;
- a lazy constant answer: earns less than the weakest model's honest answer
  (the lazy node is the node that plays the weakest model, so: gain below 0);
- boosting, sabotage and the colluding pair (f = 0.2 of ten evaluators): the
  partner gains at most ``TOLERANCE`` and no honest node loses more than it;
- a noisy evaluator and one that copies the expected consensus: paid less than
  honest play of the same kind (gain below 0).

The ranking of honest nodes (issue 15's last target) compares two mechanisms'
honest runs, so it is not judged here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from oracle.simulation.network_incentives import NetworkIncentive
from oracle.simulation.population import TOLERANCE


@dataclass(frozen=True)
class Target:
    target: str
    rule: str
    measured: str
    met: bool


def judge(rows: Sequence[NetworkIncentive]) -> list[Target]:
    """Every target the rows measure, per rule, with what was measured."""
    out = []
    for rule in sorted({r.rule for r in rows}):
        by = {r.deviation: r for r in rows if r.rule == rule}
        cost = [r for name, r in by.items() if name.startswith("cost-underreport")]
        if cost:
            worst = max(cost, key=lambda r: r.gain)
            out.append(Target("cost under-reporting gains at most 0", rule,
                              f"{worst.deviation}: {worst.gain:+.3f} ± {worst.ci:.3f}",
                              all(r.gain - r.ci <= 0 for r in cost)))
        if "lazy-node" in by:
            r = by["lazy-node"]
            out.append(Target("a lazy answer earns less than the weakest model's", rule,
                              f"{r.gain:+.3f} ± {r.ci:.3f}", r.gain + r.ci < 0))
        for name in ("boosting-evaluator", "sabotaging-evaluator", "colluding-evaluators"):
            if name in by:
                r = by[name]
                partner = r.partner_gain if r.partner_gain is not None else 0.0
                out.append(Target(f"{name}: partner gains <= {TOLERANCE}, no honest loss > {TOLERANCE}", rule,
                                  f"partner {partner:+.3f}, worst honest {r.worst_honest_loss:+.3f}",
                                  partner <= TOLERANCE and r.worst_honest_loss >= -TOLERANCE))
        for name in ("noisy-evaluator", "copying-evaluator"):
            if name in by:
                r = by[name]
                out.append(Target(f"{name} is paid less than honest play", rule, f"{r.gain:+.3f} ± {r.ci:.3f}",
                                  r.gain + r.ci < 0))
    return out
