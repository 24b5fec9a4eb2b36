"""A local Anvil chain as a managed process: start on a free loopback port, wait, stop."""

from __future__ import annotations

import secrets
import socket
import subprocess
import time
from contextlib import closing
from pathlib import Path

import requests

from oracle.chain.jsonrpc import LeanRpc, RpcError
from oracle.chain.toolchain import tool

# Anvil's well-known development mnemonic: its accounts are funded at start.
DEV_MNEMONIC = "test test test test test test test test test test test junk"


def free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rpc_ready(url: str, timeout: float = 1.0) -> bool:
    """True once ``url`` answers ``eth_chainId``."""
    try:
        LeanRpc(url, timeout=timeout).call("eth_chainId")
    except (requests.RequestException, ValueError, RpcError):
        return False
    return True


class Anvil:
    """An Anvil process on 127.0.0.1. Use as a context manager, or ``start()``/``stop()``."""

    def __init__(self, port: int | None = None, accounts: int = 20, balance_eth: int = 100_000,
                 block_time: float | None = None, mixed_mining: bool = False, state_file: Path | None = None,
                 log_file: Path | None = None, chain_id: int = 31337,
                 gas_limit: int = 300_000_000) -> None:
        self.port = port or free_port()
        self.accounts = accounts
        self.balance_eth = balance_eth
        self.block_time = block_time
        # With block_time: also mine each transaction at once (automine), not only on the timer.
        self.mixed_mining = mixed_mining
        self.state_file = state_file
        self.log_file = log_file
        self.chain_id = chain_id
        self.gas_limit = gas_limit
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        cmd = [tool("anvil"), "--host", "127.0.0.1", "--port", str(self.port),
               "--accounts", str(self.accounts), "--balance", str(self.balance_eth),
               "--mnemonic", DEV_MNEMONIC, "--chain-id", str(self.chain_id),
               "--gas-limit", str(self.gas_limit), "--silent"]
        if self.block_time:
            cmd += ["--block-time", str(self.block_time)]
            if self.mixed_mining:
                cmd.append("--mixed-mining")
        if self.state_file:
            cmd += ["--state", str(self.state_file)]
        return cmd

    def start(self, timeout: float = 30.0) -> Anvil:
        out = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL
        self.proc = subprocess.Popen(self.command(), stdout=out, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"anvil exited with code {self.proc.returncode} "
                                   f"(port {self.port} in use?): {' '.join(self.command())}")
            if rpc_ready(self.url, timeout=0.5):
                # A random block beneficiary: two chains started within the same second would otherwise
                # mine the very same blocks, and a deployment is told from the next by its block's hash.
                LeanRpc(self.url, timeout=5).call("anvil_setCoinbase", ["0x" + secrets.token_hex(20)])
                return self
            time.sleep(0.05)
        self.stop()
        raise TimeoutError(f"anvil did not answer on {self.url} within {timeout:.0f}s")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def __enter__(self) -> Anvil:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
