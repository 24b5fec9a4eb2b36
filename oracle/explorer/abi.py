"""The contract's ABI and metadata, for explorers and tools that decode PoQ's calls and events.

Otterscan, Blockscout, ``cast`` and web3 libraries need the ABI to turn calldata
and logs into names and values; the metadata file says which contract, where
(chain id, address, deploy block) and how it was compiled (solc version and
settings, source hashes), plus every selector and topic with its signature.
The ABI comes from ``oracle.chain.artifacts`` (the compiled ``contracts/``), never a copy.
"""

from __future__ import annotations

import functools
import json
import re
import subprocess
from pathlib import Path

from eth_utils import abi_to_signature, event_signature_to_log_topic, function_signature_to_4byte_selector, keccak

from oracle.chain.artifacts import CONTRACTS, SETTINGS
from oracle.chain.client import PoQClient
from oracle.chain.deployment import abi_sha256
from oracle.chain.toolchain import ROOT, SOLC_JS, ToolchainError

CONTRACT = "PoQ"
ABI_FILE = f"{CONTRACT}.abi.json"
METADATA_FILE = f"{CONTRACT}.metadata.json"


@functools.cache
def solc_long_version() -> str:
    """The compiler's full version (``0.8.28+commit.7893614a``), as Blockscout's verifier asks for it."""
    proc = subprocess.run(["node", str(SOLC_JS), "--version"], capture_output=True, text=True, check=False)
    match = re.search(r"Version: (\d+\.\d+\.\d+\+commit\.[0-9a-f]+)", proc.stdout)
    if match is None:
        raise ToolchainError(f"`node {SOLC_JS} --version` printed no solc version "
                             f"({(proc.stderr or proc.stdout).strip()!r}): run `make setup`")
    return match.group(1)


def selectors(abi: list) -> dict[str, dict[str, str]]:
    """Every function and error selector and every event topic, with its canonical signature."""
    out: dict[str, dict[str, str]] = {"functions": {}, "events": {}, "errors": {}}
    for item in abi:
        if item["type"] in ("function", "error"):
            sig = abi_to_signature(item)
            out[item["type"] + "s"]["0x" + function_signature_to_4byte_selector(sig).hex()] = sig
        elif item["type"] == "event":
            sig = abi_to_signature(item)
            out["events"]["0x" + event_signature_to_log_topic(sig).hex()] = sig
    return out


def metadata(client: PoQClient, deploy_block: int | None) -> dict:
    """Where the contract is and how it was built, for a tool that only has the chain and this file."""
    sources = {str(p.relative_to(ROOT)): {"keccak256": "0x" + keccak(p.read_bytes()).hex()}
               for p in sorted(CONTRACTS.rglob("*.sol"))}
    return {
        "contract": CONTRACT,
        "address": client.address,
        "chain_id": client.chain_id,
        "deploy_block": deploy_block,
        "abi_file": ABI_FILE,
        "abi_sha256": abi_sha256(client.abi),
        "compiler": {"language": "Solidity", "version": "v" + solc_long_version(), "settings": SETTINGS,
                     "dependencies": {"@openzeppelin/contracts": _npm_version("@openzeppelin/contracts")}},
        "sources": sources,
        "selectors": selectors(client.abi),
    }


def _npm_version(package: str) -> str:
    manifest = ROOT / "node_modules" / package / "package.json"
    if not manifest.exists():
        raise ToolchainError(f"{manifest} is missing: run `make setup` (npm ci)")
    return json.loads(manifest.read_text())["version"]


def export(client: PoQClient, deploy_block: int | None, directory: Path) -> list[Path]:
    """Write ``PoQ.abi.json`` (the bare ABI array) and ``PoQ.metadata.json`` into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    abi_path, meta_path = directory / ABI_FILE, directory / METADATA_FILE
    abi_path.write_text(json.dumps(client.abi, indent=2) + "\n")
    meta_path.write_text(json.dumps(metadata(client, deploy_block), indent=2) + "\n")
    return [abi_path, meta_path]
