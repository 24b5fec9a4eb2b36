"""Where the project's pinned chain tools live, and the offline Solidity compiler.

Anvil, forge and cast come from the npm packages pinned in ``package.json``;
the compiler is ``tools/solc.js`` over the npm ``solc`` package (no download,
ever). ``install_solc()`` registers it under the name py-solc-x and
ape-solidity look for.
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

from oracle.paths import ROOT

NODE_BIN = ROOT / "node_modules" / ".bin"
SOLC_JS = ROOT / "tools" / "solc.js"
SOLC_VERSION = "0.8.28"


class ToolchainError(RuntimeError):
    """A chain tool is missing; the message says which command installs it."""


def ensure_node_bin_on_path() -> None:
    """Put ``node_modules/.bin`` first on PATH so ape-foundry and subprocesses find Anvil."""
    path = os.environ.get("PATH", "")
    if str(NODE_BIN) not in path.split(os.pathsep):
        os.environ["PATH"] = f"{NODE_BIN}{os.pathsep}{path}"


def tool(name: str) -> str:
    """Absolute path of ``anvil``, ``forge`` or ``cast``."""
    candidate = NODE_BIN / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if found:
        return found
    raise ToolchainError(f"{name} not found in {NODE_BIN} or on PATH: run `make setup` (npm ci) first")


def solcx_binary_path() -> Path:
    """Where py-solc-x looks for installed compilers (``SOLCX_BINARY_PATH`` or ``~/.solcx``)."""
    return Path(os.environ.get("SOLCX_BINARY_PATH", Path.home() / ".solcx"))


def install_solc() -> Path:
    """Register the offline compiler for py-solc-x and ape-solidity; idempotent.

    py-solc-x copies or runs the file from its own folder, so it must reach the
    JavaScript by absolute path.
    """
    if not (ROOT / "node_modules" / "solc").exists():
        raise ToolchainError("node_modules/solc is missing: run `make setup` (npm ci) first")
    target = solcx_binary_path() / f"solc-v{SOLC_VERSION}"
    script = f'#!/bin/sh\nexec node "{SOLC_JS}" "$@"\n'
    if not target.exists() or target.read_text() != script:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(script)
        target.chmod(target.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return target


if __name__ == "__main__":
    print(install_solc())
