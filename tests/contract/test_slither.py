"""slither over contracts/: every High or Medium finding is triaged in contracts/slither-triage.json.

slither (pinned in requirements-slither.txt, its own venv ``.venv-slither``, made
by ``make setup``) compiles every ``contracts/*.sol`` in one standard-JSON
compilation with the offline compiler (``tools/solc.js``, registered by
``oracle.chain.toolchain``) and the OpenZeppelin remapping, and writes its JSON report.
contracts/test/ is not a target: ReentrantReceiver is a test-only attacker that
re-enters ``withdraw`` on purpose and is never deployed; it would only add
findings about itself.

A finding is named by its detector and the element it is on, written as a
dotted path from the contract down (``PoQ._compensate``, ``PoQ.settle.t`` for a
local variable, ``PoQ.balances`` for storage); a finding on a statement is
named by the function holding it. Neither line numbers nor slither's id hash
appear, so an entry survives unrelated edits. One entry covers every finding of
its detector on its element. The gate fails on a High or Medium finding with no
entry, and on an entry that matches no finding (stale: the code it excused has
changed). Low and informational findings are printed, not gated.
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from oracle.chain.artifacts import contract_sources
from oracle.chain.toolchain import ROOT, install_solc

CONTRACTS = ROOT / "contracts"
TRIAGE = CONTRACTS / "slither-triage.json"
SLITHER = ROOT / ".venv-slither" / "bin" / "slither"
REMAPPING = "@openzeppelin/contracts/=node_modules/@openzeppelin/contracts/"
EVM_VERSION = "cancun"  # as in ape-config.yaml and foundry.toml
GATED = ("High", "Medium")
NOT_ANALYSED = {CONTRACTS / "test"}  # why: see the module docstring


def element_name(element: dict) -> str:
    """Dotted path of a slither JSON element from its contract down; a statement names its function."""
    if element["type"] == "node":
        element = element["type_specific_fields"]["parent"]
    parts = []
    while element:
        parts.append(element["name"])
        element = element.get("type_specific_fields", {}).get("parent")
    return ".".join(reversed(parts))


def finding_key(result: dict) -> tuple[str, str]:
    return result["check"], element_name(result["elements"][0]) if result["elements"] else ""


def standard_json_input() -> dict:
    """One solc standard-JSON compilation of every contracts/*.sol, with the OpenZeppelin remapping.

    slither analyses the AST, which neither the optimizer nor the IR pipeline changes, so
    the legacy pipeline serves (same findings as ``viaIR`` here, about 6 s instead of 28 s).
    """
    sources = sorted(p.relative_to(ROOT).as_posix() for p in CONTRACTS.glob("*.sol"))
    return {
        "language": "Solidity",
        "sources": {path: {"urls": [path]} for path in sources},
        "settings": {"remappings": [REMAPPING], "evmVersion": EVM_VERSION},
    }


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> dict:
    """slither's JSON report over contracts/*.sol (one run per module)."""
    assert SLITHER.exists(), f"{SLITHER} is missing: run `make setup` (it installs requirements-slither.txt)"
    work = tmp_path_factory.mktemp("slither")
    (work / "input.json").write_text(json.dumps(standard_json_input()))
    # slither runs outside the checkout: from inside it, crytic-compile finds foundry.toml and
    # compiles with forge instead (which has no compiler offline). solc itself runs in ROOT,
    # where the sources' relative paths resolve.
    proc = subprocess.run(
        [
            str(SLITHER), "input.json", "--compile-force-framework", "solc-json",
            "--solc", str(install_solc()), "--solc-working-dir", str(ROOT),
            "--exclude-dependencies", "--json", "report.json",
        ],
        cwd=work, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    # slither exits non-zero whenever it reports anything; "success" says whether the analysis ran.
    out = work / "report.json"
    assert out.exists(), f"slither wrote no report (exit {proc.returncode}):\n{proc.stderr[-4000:]}"
    data = json.loads(out.read_text())
    assert data["success"], f"slither failed: {data.get('error')}\n{proc.stderr[-4000:]}"
    data["cwd_prefix"] = os.path.relpath(ROOT, work) + os.sep  # how its messages spell paths into ROOT
    return data


@pytest.fixture(scope="module")
def triage() -> dict[tuple[str, str], str]:
    """The committed triage: (detector, element) -> reason."""
    entries = json.loads(TRIAGE.read_text())["findings"]
    by_key: dict[tuple[str, str], str] = {}
    for entry in entries:
        key = (entry["detector"], entry["element"])
        assert key not in by_key, f"{TRIAGE.name}: {key} is listed twice"
        assert entry.get("reason", "").strip(), f"{TRIAGE.name}: {key} has no reason"
        by_key[key] = entry["reason"]
    return by_key


def findings(report: dict) -> list[dict]:
    return report["results"].get("detectors", [])


def describe(result: dict, report: dict) -> str:
    detector, element = finding_key(result)
    first_line = result["description"].strip().splitlines()[0].replace(report["cwd_prefix"], "")
    return f"[{result['impact']}/{result['confidence']}] {detector} on {element}: {first_line}"


def test_every_contract_is_a_target():
    """slither's target is the top level of contracts/: a contract in a new subfolder would go unanalysed."""
    stray = [
        str(p.relative_to(ROOT))
        for p in contract_sources()
        if p.parent != CONTRACTS and not any(p.is_relative_to(skip) for skip in NOT_ANALYSED)
    ]
    if stray:
        pytest.fail(f"not analysed by slither (move to contracts/, or exclude in NOT_ANALYSED with a reason): {stray}",
                    pytrace=False)


def test_high_and_medium_findings_are_triaged(report, triage):
    ungated = [r for r in findings(report) if r["impact"] not in GATED]
    if ungated:
        print(f"\nslither: {len(ungated)} low/informational/optimization finding(s), not gated:")
        for result in ungated:
            print("  " + describe(result, report))
    untriaged = [r for r in findings(report) if r["impact"] in GATED and finding_key(r) not in triage]
    if untriaged:
        lines = [f"  {describe(r, report)}\n    key: {finding_key(r)}" for r in untriaged]
        pytest.fail(
            f"{len(untriaged)} High/Medium slither finding(s) with no entry in {TRIAGE.relative_to(ROOT)} "
            "(fix the contract, or add {detector, element, reason}):\n" + "\n".join(lines),
            pytrace=False,
        )


def test_no_triage_entry_is_stale(report, triage):
    matched = {finding_key(r) for r in findings(report) if r["impact"] in GATED}
    stale = sorted(key for key in triage if key not in matched)
    if stale:
        pytest.fail(
            f"{TRIAGE.relative_to(ROOT)} lists finding(s) slither no longer reports at High/Medium "
            f"(the code they excused has changed; remove them): {stale}",
            pytrace=False,
        )
