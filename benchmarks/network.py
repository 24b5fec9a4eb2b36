"""Benchmark of the network model (issue 14): population rounds per second, and sweeps on 1 and 2 workers.

Measures, on one profile and seed:

- a population run: N inference and M evaluator nodes (default M = 200), a
  fifth of the evaluators colluding, ``--rounds`` rounds drawn, played and
  settled through the reference model on one core; rounds per second, median
  of ``--repeat`` runs;
- a sweep of ``--points`` grid points of ``--sweep-rounds`` rounds each, run
  on 1 and then 2 local processes, and on a local Ray of 1 and then 2 CPUs, in
  the same run; the wall times, the speed-up of 2 workers over 1, and what a
  1,000-point sweep of 5,000 rounds would take at the measured rate.

    .venv/bin/python benchmarks/network.py [--profile PATH] [--evaluators 200] [--points 12]

Timings on a shared machine are noisy: compare the ratios of one run, not the seconds of two.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from oracle.simulation.population import build_population, draw, play, rewards_by_round
from oracle.simulation.record_pool import DEFAULT_PROFILE, load_pool
from oracle.simulation.sweep import Grid, Network, sweep


def population_rate(profile: Path, inference: int, evaluators: int, slots: int, committee: int, rounds: int,
                    seed: int) -> float:
    """Rounds per second of one population run: draws, play and settlement, on this core."""
    pool = load_pool(profile)
    params = pool.default_params(slots)
    start = time.perf_counter()
    population = build_population(pool, inference, evaluators, 0.2, seed)
    draws = draw(pool, inference, evaluators, slots, committee, rounds, seed)
    rewards_by_round(play(pool, population, draws), params)
    return rounds / (time.perf_counter() - start)


def sweep_seconds(network: Network, grid: Grid, *, workers: int, use_ray: bool) -> float:
    """Wall seconds of the whole grid into a fresh folder (nothing to resume), on ``workers`` processes or CPUs."""
    with tempfile.TemporaryDirectory() as out:
        if use_ray:
            import ray

            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
            try:
                start = time.perf_counter()
                sweep(network, grid, Path(out), use_ray=True)
                return time.perf_counter() - start
            finally:
                ray.shutdown()
        start = time.perf_counter()
        sweep(network, grid, Path(out), workers=workers)
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", type=Path, default=DEFAULT_PROFILE)
    parser.add_argument("--inference", type=int, default=20)
    parser.add_argument("--evaluators", type=int, default=200)
    parser.add_argument("--slots", type=int, default=5)
    parser.add_argument("--committee", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--points", type=int, default=12, help="sweep points (a multiple of 6: K x f)")
    parser.add_argument("--sweep-rounds", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    rates = [population_rate(args.profile, args.inference, args.evaluators, args.slots, args.committee,
                             args.rounds, args.seed) for _ in range(args.repeat)]
    print(f"population N={args.inference} M={args.evaluators} n={args.slots} K={args.committee}, {args.rounds} "
          f"rounds: {statistics.median(rates):,.0f} rounds/s median ({', '.join(f'{r:,.0f}' for r in rates)})")

    fractions = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)
    committees = tuple(range(3, 3 + 2 * max(1, args.points // len(fractions)), 2))
    grid = Grid((1.0,), (0.3,), committees, (args.slots,), ("median",), fractions)
    network = Network(str(args.profile), args.inference, 30, args.sweep_rounds, args.seed)
    points = len(grid.points())
    for label, use_ray in (("local processes", False), ("local Ray", True)):
        one = sweep_seconds(network, grid, workers=1, use_ray=use_ray)
        two = sweep_seconds(network, grid, workers=2, use_ray=use_ray)
        per_point_round = two / (points * args.sweep_rounds)
        print(f"sweep of {points} points x {args.sweep_rounds} rounds on {label}: 1 worker {one:.1f} s, "
              f"2 workers {two:.1f} s, speed-up {one / two:.2f}; a 1,000-point sweep of 5,000 rounds at the "
              f"2-worker rate: {per_point_round * 1_000 * 5_000 / 60:.1f} min")


if __name__ == "__main__":
    main()
