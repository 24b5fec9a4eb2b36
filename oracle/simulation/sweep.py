"""Parameter sweeps of the network model: a grid of points, run on every local core or on a Ray cluster.

A point fixes alpha and beta (both roles), the committee size K, the slots n,
the aggregation rule, the colluding fraction f and the slash amount; it plays
the population of ``oracle.simulation.population`` and reports the colluders'
partner's gain over the honest network, the worst honest loss and the
analytical majority probability. With ``Network.grind`` it also plays the
colluders' accomplice grinding the committee seed (``grinding``) at the
point's slash, and reports the coalition's gain: the only thing in the sweep's
network that a slash changes. Points are independent and seeded alike, so a point's row is the
same wherever it runs: in this process, in a local process pool, or on a Ray
worker, alone or in a curve. Points that differ only in f run as one curve,
which settles the honest network once for all of them. Rows are appended to ``sweep.jsonl`` as they finish (flushed and
fsynced), so an interrupted sweep resumes with the points it lacks; the CSV
and the heatmaps (guarantee maps) are written from it at the end.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path

from oracle.protocol.params import WAD
from oracle.simulation.grinding import GrindPoint, grinding
from oracle.simulation.population import PopulationError, collusion_curve, with_aggregation
from oracle.simulation.record_pool import ProfilePool, load_pool

ROWS = "sweep.jsonl"


@dataclass(frozen=True)
class Point:
    alpha: float
    beta: float
    committee: int
    slots: int
    aggregation: str
    fraction: float
    slash: float = 0.5  # ETH a slash takes (``Params.slash_amount``); matters to the grinding accomplice only

    @property
    def key(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


@dataclass(frozen=True)
class Grid:
    alphas: tuple[float, ...]
    betas: tuple[float, ...]
    committees: tuple[int, ...]
    slots: tuple[int, ...]
    aggregations: tuple[str, ...]
    fractions: tuple[float, ...]
    slashes: tuple[float, ...] = (0.5,)

    def points(self) -> list[Point]:
        axes = asdict(self)
        empty = [name for name, values in axes.items() if not values]
        if empty:
            raise PopulationError(f"the grid has no points: {', '.join(empty)} has no value; give at least one "
                                  "value per axis")
        return [Point(*values) for values in itertools.product(self.alphas, self.betas, self.committees,
                                                                self.slots, self.aggregations, self.fractions,
                                                                self.slashes)]


@dataclass(frozen=True)
class Network:
    """What every point shares: the profile, the population's size, the rounds and the seed."""

    profile: str
    inference: int
    evaluators: int
    rounds: int
    seed: int = 0
    grind: bool = False  # also measure the grinding accomplice (``grinding``) at every point's slash


_POOLS: dict[str, ProfilePool] = {}


def _pool(path: str) -> ProfilePool:
    """The profile, loaded once per process (workers keep theirs across points)."""
    if path not in _POOLS:
        _POOLS[path] = load_pool(Path(path))
    return _POOLS[path]


def run_curve(network: Network, points: Sequence[Point]) -> list[dict]:
    """The rows of points that differ only in their colluding fraction: one curve, one honest baseline.

    A point's row is the same whichever curve it is played in, since each fraction is compared with the
    same honest rounds (``collusion_curve``); playing a curve's fractions together settles the honest
    network once instead of once per point."""
    first = points[0]
    pool = _pool(network.profile)
    a, b = round(first.alpha * WAD), round(first.beta * WAD)
    params = with_aggregation(pool.default_params(first.slots), first.aggregation).with_(
        alpha_inference=a, beta_inference=b, alpha_evaluator=a, beta_evaluator=b)
    fractions = list(dict.fromkeys(p.fraction for p in points))
    curve = dict(zip(fractions, collusion_curve(
        pool, params, inference=network.inference, evaluators=network.evaluators, slots=first.slots,
        committee=first.committee, fractions=fractions, rounds=network.rounds, seed=network.seed), strict=True))
    ground: dict[tuple[float, float], GrindPoint] = {}
    if network.grind:
        slashes = list(dict.fromkeys(p.slash for p in points))
        for f in fractions:
            found = grinding(pool, params, inference=network.inference, evaluators=network.evaluators,
                             slots=first.slots, committee=first.committee, fraction=f,
                             slashes=[round(s * 10**18) for s in slashes], rounds=network.rounds, seed=network.seed)
            ground.update({(f, s): g for s, g in zip(slashes, found, strict=True)})
    rows = []
    for point in points:
        c = curve[point.fraction]
        row = {**asdict(point), "colluders": c.colluders, "partner_gain": c.partner_gain, "partner_ci": c.partner_ci,
               "worst_honest_loss": c.worst_honest_loss, "majority_analytical": c.majority_analytical}
        if network.grind:
            g = ground[(point.fraction, point.slash)]
            row.update(grind_withheld=g.withheld, grind_gain=g.coalition_gain, grind_ci=g.coalition_ci)
        rows.append(row)
    return rows


def curves(points: Sequence[Point]) -> list[list[Point]]:
    """The points grouped into curves: same alpha, beta, K, n and rule; fractions and slashes in the order given."""
    grouped: dict[tuple, list[Point]] = {}
    for p in points:
        grouped.setdefault((p.alpha, p.beta, p.committee, p.slots, p.aggregation), []).append(p)
    return list(grouped.values())


def check(network: Network, grid: Grid) -> list[Point]:
    """Every point, after the checks a worker would fail on, so a bad grid fails before any work."""
    points = grid.points()
    if len(set(grid.slashes)) > 1 and not network.grind:
        raise PopulationError(f"slash amounts {', '.join(f'{x:g}' for x in grid.slashes)} ETH, but nothing in the "
                              "sweep's network is slashed without the grinding accomplice: add --grind, or give "
                              "one slash amount")
    min_stake = _pool(network.profile).default_params(1).min_stake
    for point in points:
        if not 0 <= point.slash * 10**18 <= min_stake:
            raise PopulationError(f"slash {point.slash:g} ETH is outside [0, min_stake = {min_stake / 10**18:g} ETH]:"
                                  " the contract takes no more than the minimum stake")
        if point.committee > network.evaluators:
            raise PopulationError(f"K={point.committee} exceeds the M={network.evaluators} evaluator nodes: "
                                  "give K <= M")
        if point.slots > network.inference:
            raise PopulationError(f"n={point.slots} slots exceed the N={network.inference} inference nodes: "
                                  "give n <= N")
        with_aggregation(_pool(network.profile).default_params(1), point.aggregation)
        if not 0.0 <= point.fraction < 1.0:
            raise PopulationError(f"colluding fraction f={point.fraction} is outside [0, 1): give a share of the "
                                  "evaluator nodes below 1, e.g. 0.2")
    return points


def read_rows(out: Path) -> dict[str, dict]:
    """The rows already recorded in ``out``, by point key; a line cut by an interrupt is dropped."""
    path = out / ROWS
    rows: dict[str, dict] = {}
    if not path.exists():
        return rows
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
            point = Point(**{k: row[k] for k in Point.__dataclass_fields__})
        except (json.JSONDecodeError, KeyError, TypeError):  # cut by an interrupt, or not a row of ours
            continue
        rows[point.key] = row
    return rows


def _append(out: Path, row: dict) -> None:
    with open(out / ROWS, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(row, sort_keys=True) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


Progress = Callable[[int, int], None]


def _local(network: Network, groups: Sequence[Sequence[Point]], workers: int) -> Iterator[list[dict]]:
    if workers <= 1:
        for group in groups:
            yield run_curve(network, group)
        return
    with ProcessPoolExecutor(max_workers=workers) as executor:
        futures = [executor.submit(run_curve, network, g) for g in groups]
        for future in as_completed(futures):
            yield future.result()


def _on_ray(network: Network, groups: Sequence[Sequence[Point]], address: str | None) -> Iterator[list[dict]]:
    import ray

    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
    remote = ray.remote(run_curve)
    pending = [remote.remote(network, g) for g in groups]
    while pending:
        done, pending = ray.wait(pending, num_returns=1)
        yield ray.get(done[0])


def sweep(network: Network, grid: Grid, out: Path, *, workers: int | None = None, ray_address: str | None = None,
          use_ray: bool = False, progress: Progress | None = None) -> list[dict]:
    """Run the grid's missing points into ``out`` and return every row, in grid order.

    ``workers``: local processes (default: every core). ``use_ray``: run on Ray instead, at ``ray_address``
    (None: the Ray already initialised in this process, or a new local one)."""
    points = check(network, grid)
    out.mkdir(parents=True, exist_ok=True)
    rows = read_rows(out)
    todo = [p for p in points if p.key not in rows]
    done = len(points) - len(todo)
    if progress:
        progress(done, len(points))
    groups = curves(todo)
    results = (_on_ray(network, groups, ray_address) if use_ray
               else _local(network, groups, workers or os.cpu_count() or 1))
    for curve_rows in results:
        for row in curve_rows:
            _append(out, row)
            rows[Point(**{k: row[k] for k in Point.__dataclass_fields__}).key] = row
        done += len(curve_rows)
        if progress:
            progress(done, len(points))
    return [rows[p.key] for p in points]
