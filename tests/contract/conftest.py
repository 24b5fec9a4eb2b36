"""Fixtures of the contract suite: one PoQ per test module, with its nodes registered.

Every module deploys its own PoQ (``project.PoQ.deploy``) on the Anvil that ape
starts; ape snapshots the chain around each test, so a test's transactions never
leak into the next one. Setup goes through ``FastClient`` (see ``harness.py``);
the calls under test go through ape, whose reverts carry the custom error.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import pytest
from eth_utils import keccak

from oracle.chain.client import TaskSpec
from oracle.chain.toolchain import ROOT, install_solc, tool
from oracle.protocol.commitments import reference_commitment
from oracle.protocol.params import Params, Role

from .harness import EVALUATORS, INFERENCE, OUTSIDER, OWNER, REFERENCE_SALT, REQUESTER, FastClient, RoundPlay

ETH = 10**18


@pytest.fixture(scope="session")
def params() -> Params:
    return Params()


@pytest.fixture(scope="session")
def owner(accounts):
    return accounts[OWNER]


@pytest.fixture(scope="session")
def requester(accounts):
    return accounts[REQUESTER]


@pytest.fixture(scope="session")
def inference_nodes(accounts) -> list:
    return [accounts[i] for i in INFERENCE]


@pytest.fixture(scope="session")
def evaluators(accounts) -> list:
    return [accounts[i] for i in EVALUATORS]


@pytest.fixture(scope="session")
def outsider(accounts):
    return accounts[OUTSIDER]


@pytest.fixture(scope="module")
def poq(project, chain, params, owner, requester, inference_nodes, evaluators, outsider):
    """The module's PoQ, with every inference node and evaluator registered at the minimum stake.

    It asks for every session fixture so that they all exist before the module's first
    snapshot (ape re-runs fixtures, slowly, when a wider-scoped one appears mid-module).
    """
    contract = project.PoQ.deploy(params.as_contract_tuple(), sender=owner)
    fast = FastClient.for_contract(chain, contract)
    for node in inference_nodes:
        fast.register(node, Role.INFERENCE, params.min_stake)
    for node in evaluators:
        fast.register(node, Role.EVALUATOR, params.min_stake)
    return contract


@pytest.fixture
def client(poq, chain) -> FastClient:
    return FastClient.for_contract(chain, poq)


OpenRound = Callable[..., RoundPlay]


@pytest.fixture
def open_round(client, requester) -> OpenRound:
    """Opens a round on the module's PoQ, under its current parameter version; returns a ``RoundPlay``."""

    def open_(slots: int = 3, committee_size: int = 3, budget: int = ETH, reference: str | None = None,
              ref_salt: bytes = REFERENCE_SALT) -> RoundPlay:
        rid = client.next_round_id()
        th = keccak(text=f"Which NFL team won Super Bowl 50? (round {rid})")  # any bytes32
        commitment = (reference_commitment(client.chain_id, client.address, requester.address, th,
                                           reference, ref_salt) if reference is not None else b"\x00" * 32)
        spec = TaskSpec(th, "data:application/json,{}", "qa", slots, committee_size, commitment)
        receipt = client.transact(requester, "openRound", spec.as_tuple(client.view("paramsVersion")), value=budget)
        return RoundPlay(client, requester, rid, budget, int(receipt["blockNumber"], 16), th, reference, ref_salt)

    return open_


@pytest.fixture(scope="session")
def forge_built() -> None:
    """Every forge artifact, built once: the campaign and the hole tests deploy PoQ and PoQV1 from their
    artifacts (``vm.deployCode``), and a filtered ``forge test`` compiles only what its own files import."""
    proc = subprocess.run([tool("forge"), "build", "--use", str(install_solc())], cwd=ROOT,
                          capture_output=True, text=True, timeout=3600)
    assert proc.returncode == 0, f"forge build failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"

