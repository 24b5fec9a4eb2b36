"""Shared by every test: offline model hubs and the pinned chain tools on PATH.

Kept minimal on purpose; each test folder has its own conftest for its fixtures.
"""

import os

from oracle.chain.toolchain import ensure_node_bin_on_path

# Set before any test module imports transformers or huggingface_hub: no network, ever.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# ape-foundry starts the Anvil from node_modules/.bin (npm-pinned), not a global one.
ensure_node_bin_on_path()
