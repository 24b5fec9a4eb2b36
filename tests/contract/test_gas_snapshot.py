"""The gas snapshot is deterministic and up to date, and a whole round stays within 1.4x its floor.

``benchmarks/gas.py --check`` plays the benchmark rounds on a fresh Anvil and fails if any receipt's
gas differs from the committed ``benchmarks/gas-snapshot.json`` or the round exceeds its ceiling.
"""

from __future__ import annotations

import json
import subprocess
import sys

from oracle.chain.toolchain import ROOT

SNAPSHOT = ROOT / "benchmarks" / "gas-snapshot.json"


def test_gas_snapshot_is_up_to_date_and_round_within_ceiling():
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gas.py"), "--check"], cwd=ROOT,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "is up to date" in proc.stdout
    round_ = json.loads(SNAPSHOT.read_text())["round_n5_k3"]
    assert round_["gas"] <= 1.4 * round_["floor"]
