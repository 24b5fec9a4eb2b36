"""Lean JSON-RPC to Anvil: batched ``eth_sendTransaction`` and manual mining.

web3.py's ``transact`` manages about 120 tx/s here; JSON-RPC batches of
unlocked-account transactions with automine off and one ``evm_mine`` per
stage reach thousands (measured in ../shared/docs/ENVIRONMENT.md;
here by ``benchmarks/simulate.py``'s raw transfers). With automine off Anvil does not
advance a sender's pending nonce for ``eth_sendTransaction``, so the caller
passes every nonce explicitly (``LeanRpc.nonces`` keeps them).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import requests

BATCH = 1_000  # requests per HTTP call


class RpcError(RuntimeError):
    """An RPC call failed; the message names the method and Anvil's error."""


@dataclass(frozen=True)
class Tx:
    """An unsigned transaction Anvil signs for an unlocked account."""

    sender: str
    to: str
    data: bytes
    gas: int
    value: int = 0


class LeanRpc:
    """Plain JSON-RPC over one HTTP session: no middleware, no ABI layer."""

    def __init__(self, url: str, timeout: float = 300.0) -> None:
        self.url = url
        self.timeout = timeout
        self.session = requests.Session()
        self.nonces: dict[str, int] = {}

    def call(self, method: str, params: list | None = None) -> Any:
        reply = self.session.post(self.url, data=json.dumps(
            {"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}),
            headers={"Content-Type": "application/json"}, timeout=self.timeout).json()
        if "error" in reply:
            raise RpcError(f"{method} failed: {reply['error']}")
        return reply["result"]

    def batch(self, calls: Sequence[tuple[str, list]]) -> list[Any]:
        """Results of ``calls`` in order, ``BATCH`` per HTTP request; the first error raises."""
        results: list[Any] = []
        for start in range(0, len(calls), BATCH):
            chunk = calls[start:start + BATCH]
            body = [{"jsonrpc": "2.0", "id": start + k, "method": m, "params": p}
                    for k, (m, p) in enumerate(chunk)]
            replies = self.session.post(self.url, data=json.dumps(body),
                                        headers={"Content-Type": "application/json"},
                                        timeout=self.timeout).json()
            replies.sort(key=lambda r: r["id"])
            for reply in replies:
                if "error" in reply:
                    method, params = calls[reply["id"]]
                    raise RpcError(f"{method} #{reply['id']} failed: {reply['error']} "
                                   f"(params {str(params)[:300]})")
                results.append(reply["result"])
        return results

    def send(self, txs: Sequence[Tx]) -> list[str]:
        """Send ``txs`` (pending until mined) with explicit nonces; returns their hashes."""
        calls = []
        for tx in txs:
            nonce = self.nonces.get(tx.sender)
            if nonce is None:
                nonce = int(self.call("eth_getTransactionCount", [tx.sender, "pending"]), 16)
            self.nonces[tx.sender] = nonce + 1
            calls.append(("eth_sendTransaction", [{
                "from": tx.sender, "to": tx.to, "data": "0x" + tx.data.hex(), "gas": hex(tx.gas),
                "value": hex(tx.value), "nonce": hex(nonce)}]))
        return self.batch(calls)

    def mine(self, blocks: int = 1) -> int:
        """Mine ``blocks`` blocks (every pending transaction goes into the first); returns the head."""
        if blocks == 1:
            self.call("evm_mine")
        else:
            self.call("anvil_mine", [hex(blocks)])
        return self.block_number()

    def block_number(self) -> int:
        return int(self.call("eth_blockNumber"), 16)

    def logs(self, address: str, block: int, topic0: Sequence[str]) -> list[dict]:
        """Logs of ``address`` in ``block`` whose first topic is one of ``topic0``."""
        return self.call("eth_getLogs", [{"address": address, "fromBlock": hex(block), "toBlock": hex(block),
                                          "topics": [list(topic0)]}])

    def failed(self, hashes: Sequence[str]) -> list[str]:
        """The hashes among ``hashes`` whose receipt says reverted (or that were never mined)."""
        receipts = self.batch([("eth_getTransactionReceipt", [h]) for h in hashes])
        return [h for h, r in zip(hashes, receipts, strict=True) if r is None or r.get("status") != "0x1"]
