"""Sweeps: a grid runs the same rows in this process, in a process pool and on a local Ray of two workers,
and an interrupted sweep resumes with only the points it lacks."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from oracle.simulation.population import PopulationError
from oracle.simulation.sweep import ROWS, Grid, Network, sweep

GRID = Grid(alphas=(1.0,), betas=(0.1, 0.5), committees=(3,), slots=(3,), aggregations=("mean", "median"),
            fractions=(0.0, 0.3))


def _network(profile: Path) -> Network:
    return Network(str(profile), inference=4, evaluators=10, rounds=60, seed=1)


def test_a_sweep_on_a_local_ray_of_two_workers_equals_the_sweep_run_here_row_for_row(profile: Path, tmp_path: Path):
    import ray
    here = sweep(_network(profile), GRID, tmp_path / "here", workers=1)
    pooled = sweep(_network(profile), GRID, tmp_path / "pool", workers=2)
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        on_ray = sweep(_network(profile), GRID, tmp_path / "ray", use_ray=True)
    finally:
        ray.shutdown()
    assert len(here) == 8 and here == pooled == on_ray
    gains = {(r["beta"], r["aggregation"], r["fraction"]): r["partner_gain"] for r in here}
    assert all(gains[b, a, 0.0] == 0.0 for b in (0.1, 0.5) for a in ("mean", "median"))
    assert all(gains[b, a, 0.3] > 0.0 for b in (0.1, 0.5) for a in ("mean", "median"))


def test_a_point_played_alone_has_the_row_it_has_in_its_curve(profile: Path, tmp_path: Path):
    whole = sweep(_network(profile), GRID, tmp_path / "whole", workers=1)
    for k, row in enumerate(whole):
        alone = Grid((row["alpha"],), (row["beta"],), (row["committee"],), (row["slots"],), (row["aggregation"],),
                     (row["fraction"],))
        assert sweep(_network(profile), alone, tmp_path / f"alone-{k}", workers=1) == [row]


def test_an_interrupted_sweep_resumes_with_the_missing_points_only(profile: Path, tmp_path: Path):
    out = tmp_path / "sweep"
    first = sweep(_network(profile), Grid((1.0,), (0.1,), (3,), (3,), ("mean",), (0.0, 0.3)), out, workers=1)
    with open(out / ROWS, "a") as fh:
        fh.write('{"note": "not a row"}\n')  # JSON, but not a row of this sweep
        fh.write('{"alpha": 1.0, "beta"')  # a line cut by an interrupt
    seen = []
    rows = sweep(_network(profile), GRID, out, workers=1, progress=lambda done, total: seen.append((done, total)))
    assert seen[0] == (2, 8) and seen[-1] == (8, 8)  # two points were recorded, six were run
    assert [r for r in rows if r["beta"] == 0.1 and r["aggregation"] == "mean"] == first
    lines = (out / ROWS).read_text().splitlines()
    assert sum(1 for line in lines if line.startswith('{"') and '"fraction"' in line and line.endswith("}")) == 8


def test_a_grinding_sweep_prices_the_accomplice_at_every_slash_and_keeps_the_collusion_rows(profile: Path,
                                                                                            tmp_path: Path):
    grid = Grid((1.0,), (0.3,), (3,), (3,), ("median",), (0.0, 0.3), (0.0, 0.05, 1.0))
    network = replace(_network(profile), rounds=400)
    plain = sweep(network, Grid(*(getattr(grid, f) for f in list(Grid.__dataclass_fields__)[:6])),
                  tmp_path / "plain", workers=1)
    ground = sweep(replace(network, grind=True), grid, tmp_path / "ground", workers=2)
    assert len(ground) == 6
    by = {(r["fraction"], r["slash"]): r for r in ground}
    for row in plain:  # the collusion columns do not depend on the slash or on the accomplice
        for slash in (0.0, 0.05, 1.0):
            assert {k: by[row["fraction"], slash][k] for k in row if k != "slash"} == \
                {k: v for k, v in row.items() if k != "slash"}
    assert by[0.3, 0.0]["grind_withheld"] > 0 and by[0.3, 0.0]["grind_gain"] > 0  # colluders make a redraw pay
    for f in (0.0, 0.3):
        assert by[f, 0.0]["grind_gain"] >= by[f, 0.05]["grind_gain"] >= by[f, 1.0]["grind_gain"] == 0.0
        assert by[f, 1.0]["grind_withheld"] == 0


@pytest.mark.parametrize(("grid", "message"), [
    (Grid((1.0,), (), (3,), (3,), ("mean",), (0.1,)), "the grid has no points: betas has no value"),
    (Grid((1.0,), (0.1,), (11,), (3,), ("mean",), (0.1,)), "K=11 exceeds the M=10 evaluator nodes"),
    (Grid((1.0,), (0.1,), (3,), (3,), ("trimmed",), (0.1,)), "unknown aggregation 'trimmed'"),
    (Grid((1.0,), (0.1,), (3,), (3,), ("mean",), (1.0,)), r"f=1.0 is outside \[0, 1\)"),
    (Grid((1.0,), (0.1,), (3,), (3,), ("mean",), (0.1,), (0.0, 0.5)), "nothing in the sweep's network is slashed "
                                                                       "without the grinding accomplice: add --grind"),
    (Grid((1.0,), (0.1,), (3,), (3,), ("mean",), (0.1,), (2.0,)), r"slash 2 ETH is outside \[0, min_stake = 1 ETH\]"),
])
def test_a_bad_grid_fails_before_any_work(profile: Path, tmp_path: Path, grid: Grid, message: str):
    with pytest.raises(PopulationError, match=message):
        sweep(_network(profile), grid, tmp_path / "bad", workers=1)
    assert not (tmp_path / "bad" / ROWS).exists()


def test_poq_sweep_writes_rows_csv_parquet_and_the_guarantee_map(profile: Path, tmp_path: Path, capsys):
    import csv

    from poq.main import main

    out = tmp_path / "sw"
    argv = ["sweep", "--profile", str(profile), "--inference", "4", "--evaluators", "10", "--slots", "3",
            "--beta", "0.3", "--committee", "3", "--fraction", "0,0.3", "--rounds", "40", "--workers", "1",
            "--out", str(out)]
    assert main(argv) == 0
    with open(out / "sweep.csv") as fh:
        assert [(r["aggregation"], r["fraction"]) for r in csv.DictReader(fh)] == [
            ("mean", "0.0"), ("mean", "0.3"), ("median", "0.0"), ("median", "0.3")]
    with open(out / "sweep.csv") as fh:
        csv_rows = list(csv.DictReader(fh))
    import pyarrow.parquet as pq

    table = pq.read_table(out / "sweep.parquet").to_pylist()
    assert [{k: str(v) for k, v in row.items()} for row in table] == csv_rows
    assert (out / "guarantee_map.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main([*argv[:-2], "--fraction", "0,1.2", "--out", str(tmp_path / "x")])
    assert "argument --fraction: '0,1.2': colluding fractions must be numbers in [0, 0.99]" in capsys.readouterr().err
