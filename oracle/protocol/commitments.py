"""Commit-reveal hashes, exactly as ``PoQ.sol`` recomputes them at reveal.

Binding chain id, contract, round and node into every commitment makes a
commitment impossible to copy from another node or replay in another round.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from eth_abi import encode
from eth_utils import keccak, to_canonical_address

from oracle.protocol.reward import Cost

COST_TYPE = "(uint64,uint64,uint64)"


def new_salt() -> bytes:
    """32 random bytes; store it durably before sending the commitment it hides."""
    return secrets.token_bytes(32)


def output_commitment(chain_id: int, contract: str, round_id: int, node: str, output: str,
                      cost: Cost, salt: bytes) -> bytes:
    """``keccak256(abi.encode(chainid, poq, roundId, node, keccak256(output), cost, salt))``."""
    return keccak(encode(
        ["uint256", "address", "uint256", "address", "bytes32", COST_TYPE, "bytes32"],
        [chain_id, to_canonical_address(contract), round_id, to_canonical_address(node),
         keccak(output.encode("utf-8")), cost.as_tuple(), salt],
    ))


def scores_commitment(chain_id: int, contract: str, round_id: int, evaluator: str,
                      scores: Sequence[int], cost: Cost, salt: bytes) -> bytes:
    """``keccak256(abi.encode(chainid, poq, roundId, evaluator, keccak256(abi.encode(scores)), cost, salt))``."""
    return keccak(encode(
        ["uint256", "address", "uint256", "address", "bytes32", COST_TYPE, "bytes32"],
        [chain_id, to_canonical_address(contract), round_id, to_canonical_address(evaluator),
         keccak(encode(["uint64[]"], [list(scores)])), cost.as_tuple(), salt],
    ))


def reference_commitment(chain_id: int, contract: str, requester: str, task_hash: bytes,
                         reference: str, salt: bytes) -> bytes:
    """``keccak256(abi.encode(chainid, poq, requester, taskHash, keccak256(reference), salt))``."""
    return keccak(encode(
        ["uint256", "address", "address", "bytes32", "bytes32", "bytes32"],
        [chain_id, to_canonical_address(contract), to_canonical_address(requester), task_hash,
         keccak(reference.encode("utf-8")), salt],
    ))
