"""The `poq` entry point: every subcommand answers --help; `poq demo` and `poq run` play real rounds."""

from __future__ import annotations

import subprocess
import sys

import pytest

from poq.main import build_parser

SUBCOMMANDS = [["demo"], ["run"], ["devnet", "up"], ["devnet", "down"], ["node", "inference"],
               ["node", "evaluator"], ["requester"], ["payouts"], ["eval"], ["simulate"], ["explorer"],
               ["paper"], ["collusion"], ["incentives"], ["sweep"], ["network"], ["trust"]]


def test_every_command_is_listed():
    listed = set(build_parser()._subparsers._group_actions[0].choices)
    assert {c[0] for c in SUBCOMMANDS} == listed


@pytest.mark.parametrize("command", SUBCOMMANDS, ids=" ".join)
def test_help(command):
    proc = subprocess.run([sys.executable, "-m", "poq", *command, "--help"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "usage: poq" in proc.stdout


def test_demo_plays_a_round_that_matches_the_reference_model():
    """`poq demo` starts its own Anvil, deploys, plays one scripted round and checks every payout."""
    proc = subprocess.run([sys.executable, "-m", "poq", "demo"], capture_output=True, text=True,
                          timeout=300, env=None)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "every payout equals the Python reference model's, to the wei" in proc.stdout
    assert "1 ETH budget" in proc.stdout


@pytest.mark.slow
def test_run_plays_real_daemon_rounds_and_every_node_withdraws(tmp_path):
    """`poq run` (the main job, as `make run` calls it): devnet, real daemons with packaged weights, a round."""
    proc = subprocess.run([sys.executable, "-m", "poq", "run", "--rounds", "1", "--threads", "1",
                           "--state-dir", str(tmp_path / "run")], capture_output=True, text=True, timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert "every settled round's payouts equal the Python reference model's, to the wei" in out
    assert "every node withdrew what it was owed" in out
