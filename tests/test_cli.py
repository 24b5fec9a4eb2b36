"""The `poq` entry point: every subcommand answers --help, and `poq demo` plays a real round."""

from __future__ import annotations

import subprocess
import sys

import pytest

from oracle.cli import build_parser

SUBCOMMANDS = [["demo"], ["run"], ["devnet", "up"], ["devnet", "down"], ["node", "inference"],
               ["node", "evaluator"], ["oracle"], ["payouts"], ["eval"], ["simulate"], ["explorer"]]


def test_every_command_is_listed():
    listed = set(build_parser()._subparsers._group_actions[0].choices)
    assert {c[0] for c in SUBCOMMANDS} == listed


@pytest.mark.parametrize("command", SUBCOMMANDS, ids=" ".join)
def test_help(command):
    proc = subprocess.run([sys.executable, "-m", "oracle.cli", *command, "--help"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "usage: poq" in proc.stdout


def test_demo_plays_a_round_that_matches_the_reference_model():
    """`poq demo` starts its own Anvil, deploys, plays one scripted round and checks every payout."""
    proc = subprocess.run([sys.executable, "-m", "oracle.cli", "demo"], capture_output=True, text=True,
                          timeout=300, env=None)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "every payout equals the Python reference model's, to the wei" in proc.stdout
    assert "1 ETH budget" in proc.stdout
