"""The committee draw, exactly as ``contracts/Sortition.sol`` and ``PoQ._drawCommittee`` make it.

Stake-weighted sampling without replacement by keys (Efraimidis-Spirakis): each
drawable evaluator gets ``key = E / weight`` with ``E = -log2(u)`` from a uniform
``u`` that depends only on the round's seed and its own address, and the K
smallest keys are seated. A seat goes to evaluator i first with probability
``weight_i / sum(weights)``, and no evaluator can move another's key by joining,
leaving or reordering the set. The seed mixes the revealed salts (and the
reference salt), never block data. No I/O: the simulation draws committees with
these functions, and the tests check them against the contract.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from eth_abi import encode
from eth_utils import keccak, to_canonical_address

FRACTION_BITS = 32
SEED_BITS = 80  # the contract keeps the XOR of each salt's low 80 bits


def log2_q32(u: int) -> int:
    """``floor(log2(u) * 2**32)`` for ``1 <= u <= 2**128``, by repeated squaring (``Sortition.log2Q32``)."""
    n = u.bit_length() - 1
    result = n << FRACTION_BITS
    y = u >> (n - 127) if n >= 127 else u << (127 - n)
    bit = 1 << (FRACTION_BITS - 1)
    while bit:
        y = (y * y) >> 127
        if y >= 1 << 128:
            y >>= 1
            result |= bit
        bit >>= 1
    return result


def key(seed: bytes, member: str, weight: int) -> int:
    """``Sortition.key``: smaller keys are drawn first; ``weight`` must be positive."""
    # abi.encode(bytes32, address): the seed, then the address left-padded to 32 bytes.
    u = (int.from_bytes(keccak(seed + bytes(12) + to_canonical_address(member)), "big") >> 128) + 1
    e = (128 << FRACTION_BITS) - log2_q32(u)
    return (e << 128) // weight


def mix_salts(salts: Iterable[bytes]) -> int:
    """The round's seed accumulator: the XOR of each revealed salt's low 80 bits (order does not matter)."""
    acc = 0
    for salt in salts:
        acc ^= int.from_bytes(salt, "big") & ((1 << SEED_BITS) - 1)
    return acc


def round_seed(chain_id: int, contract: str, round_id: int, accumulator: int) -> bytes:
    """``keccak256(abi.encode(chainid, poq, roundId, seedAccumulator))``, the seed of the round's draw."""
    return keccak(encode(["uint256", "address", "uint256", "uint80"],
                         [chain_id, to_canonical_address(contract), round_id, accumulator]))


@dataclass(frozen=True)
class Candidate:
    """An evaluator as the draw sees it: its address and its weight for this round (0: not drawable)."""

    address: str
    weight: int


def draw_weight(stake: int, active_at: int, recent_at: int, recent_stake: int, opened_at: int,
                min_stake: int) -> int:
    """``PoQ._drawWeight``: stake that predates the round, if it is at least the round's minimum stake."""
    if active_at > opened_at:
        return 0
    w = stake
    if recent_at >= opened_at:
        w = max(0, w - recent_stake)
    return w if w >= min_stake else 0


def draw(seed: bytes, candidates: Sequence[Candidate], k: int) -> list[str]:
    """The K smallest keys among drawable candidates, smallest first (ties to the lower address)."""
    keyed = [(key(seed, c.address, c.weight), int(c.address, 16), c.address) for c in candidates if c.weight > 0]
    keyed.sort()
    return [address for _, _, address in keyed[:k]]
