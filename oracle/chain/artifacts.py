"""The contract's ABI and bytecode, compiled from ``contracts/`` (the one source of truth).

Daemons and the CLI compile with the same offline solc and the same settings
that ape-solidity uses (``ape-config.yaml``), and cache the result keyed by
the sources' hash in ``.build/poq-artifacts.json``.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from oracle.chain.toolchain import ROOT, SOLC_JS, ToolchainError

CONTRACTS = ROOT / "contracts"
CACHE = ROOT / ".build" / "poq-artifacts.json"
OZ = ROOT / "node_modules" / "@openzeppelin" / "contracts"
# Must match ape-config.yaml's solidity section (via IR: the legacy pipeline puts PoQ over the code-size limit).
SETTINGS = {"optimizer": {"enabled": True, "runs": 200}, "evmVersion": "cancun", "viaIR": True}


@dataclass(frozen=True)
class Artifact:
    name: str
    abi: list
    bytecode: str
    deployed_bytecode: str


def contract_sources() -> list[Path]:
    """The project's Solidity files under ``contracts/``, not the tools' hidden caches there
    (ape unpacks its dependencies into ``contracts/.cache/``)."""
    return sorted(p for p in CONTRACTS.rglob("*.sol")
                  if not any(part.startswith(".") for part in p.relative_to(CONTRACTS).parts))


def _sources() -> dict[str, dict]:
    files = contract_sources()
    if not files:
        raise ToolchainError(f"no Solidity sources under {CONTRACTS}")
    return {str(p.relative_to(ROOT)): {"content": p.read_text()} for p in files}


def compile_contracts(force: bool = False) -> dict[str, Artifact]:
    """Compile every contract under ``contracts/`` (cached on the sources' hash)."""
    sources = _sources()
    digest = hashlib.sha256(json.dumps([sources, SETTINGS], sort_keys=True).encode()).hexdigest()
    if not force and CACHE.exists():
        cached = json.loads(CACHE.read_text())
        if cached.get("digest") == digest:
            return {k: Artifact(**v) for k, v in cached["artifacts"].items()}
    if not OZ.exists():
        raise ToolchainError("node_modules/@openzeppelin/contracts is missing: run `make setup` (npm ci)")
    standard_input = {
        "language": "Solidity",
        "sources": sources,
        "settings": {
            **SETTINGS,
            "remappings": [f"@openzeppelin/contracts/={OZ}/"],
            "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]}},
        },
    }
    proc = subprocess.run(["node", str(SOLC_JS), "--standard-json", "--base-path", str(ROOT)],
                          input=json.dumps(standard_input), capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise ToolchainError(f"solc failed: {proc.stderr.strip()}")
    output = json.loads(proc.stdout)
    errors = [e["formattedMessage"] for e in output.get("errors", []) if e["severity"] == "error"]
    if errors:
        raise ToolchainError("Solidity compilation failed:\n" + "\n".join(errors))
    artifacts = {}
    for path, contracts in output["contracts"].items():
        if not path.startswith("contracts/"):
            continue
        for name, c in contracts.items():
            artifacts[name] = Artifact(name, c["abi"], "0x" + c["evm"]["bytecode"]["object"],
                                       "0x" + c["evm"]["deployedBytecode"]["object"])
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    tmp = CACHE.with_suffix(".tmp")
    tmp.write_text(json.dumps({"digest": digest, "artifacts": {k: vars(v) for k, v in artifacts.items()}}))
    tmp.replace(CACHE)
    return artifacts


def poq_artifact() -> Artifact:
    return compile_contracts()["PoQ"]
