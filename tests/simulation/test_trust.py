"""Evaluator trust under a coordinated group of copiers: consensus distance against probes with known answers."""

from __future__ import annotations

from pathlib import Path

import pytest

from oracle.simulation.population import PopulationError
from oracle.simulation.record_pool import load_pool
from oracle.simulation.trust import trust_shares


def test_probes_strip_the_copiers_of_weight_and_consensus_distance_hands_it_to_whoever_leads(profile: Path):
    pool = load_pool(profile)
    for seed in range(6):
        trace = trust_shares(pool, evaluators=10, group=0.3, rounds=3000, seed=seed)
        assert trace.fair == 0.3
        # Anchored to ground truth, the copiers (who score a probe as the model's average) lose all weight.
        assert trace.anchored[-1] < 0.01 < trace.anchored[0]
        # Consensus distance is winner-take-all: one node (or the group, which moves as one) ends with most of it.
        assert max(trace.consensus_top, trace.consensus[-1]) > 0.5  # a fair share is 0.1 a node


def test_trust_refuses_what_it_cannot_measure(profile: Path):
    pool = load_pool(profile)
    with pytest.raises(PopulationError, match=r"group=1.0: give a fraction of the evaluators in \(0, 1\)"):
        trust_shares(pool, group=1.0)
    with pytest.raises(PopulationError, match="K=5 exceeds the M=4 evaluator nodes"):
        trust_shares(pool, evaluators=4, committee=5)


def test_poq_trust_prints_both_rules_and_writes_the_traces(profile: Path, tmp_path: Path, capsys):
    import csv

    from poq.main import main

    out = tmp_path / "trust"
    assert main(["trust", "--profile", str(profile), "--evaluators", "10", "--groups", "0.3", "--rounds", "600",
                 "--seeds", "2", "--out", str(out)]) == 0
    with open(out / "trust.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["seed"] for r in rows} == {"0", "1"} and rows[-1]["rounds"] == "600"
    assert (out / "trust.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    capsys.readouterr()
    assert main(["trust", "--profile", str(profile), "--evaluators", "2", "--out", str(tmp_path / "x")]) == 2
    assert "--committee 3 exceeds --evaluators 2" in capsys.readouterr().err
