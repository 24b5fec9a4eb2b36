// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title Sortition
/// @notice Stake-weighted committee draws that no evaluator can shift by changing the evaluator set.
/// @dev Each eligible evaluator gets its own key `E / weight`, where `E = -log2(u)` is an exponential
///      variate from `u`, a uniform number in (0, 1] derived from the round's seed and the evaluator's
///      address alone (Efraimidis-Spirakis weighted sampling without replacement). The K smallest keys
///      win, so a seat goes to evaluator i first with probability `weight_i / sum(weights)`, and adding,
///      removing or reordering other evaluators never changes anyone's key. `oracle/sortition.py` is the
///      same integer algorithm in Python; the tests check the two agree.
library Sortition {
    /// @notice Fractional bits of `log2Q32`.
    uint256 internal constant FRACTION_BITS = 32;

    /// @notice `floor(log2(u) * 2^32)` for `1 <= u <= 2^128`, by repeated squaring of the mantissa.
    /// @dev The mantissa `y` stays in [2^127, 2^128), so `y * y` never overflows 256 bits.
    function log2Q32(uint256 u) internal pure returns (uint256 result) {
        uint256 n;
        uint256 x = u;
        if (x >= 1 << 128) {
            x >>= 128;
            n += 128;
        }
        if (x >= 1 << 64) {
            x >>= 64;
            n += 64;
        }
        if (x >= 1 << 32) {
            x >>= 32;
            n += 32;
        }
        if (x >= 1 << 16) {
            x >>= 16;
            n += 16;
        }
        if (x >= 1 << 8) {
            x >>= 8;
            n += 8;
        }
        if (x >= 1 << 4) {
            x >>= 4;
            n += 4;
        }
        if (x >= 1 << 2) {
            x >>= 2;
            n += 2;
        }
        if (x >= 1 << 1) n += 1;
        result = n << FRACTION_BITS;
        uint256 y = n >= 127 ? u >> (n - 127) : u << (127 - n);
        for (uint256 bit = 1 << (FRACTION_BITS - 1); bit > 0; bit >>= 1) {
            y = (y * y) >> 127;
            if (y >= 1 << 128) {
                y >>= 1;
                result |= bit;
            }
        }
    }

    /// @notice The draw key of `member` with `weight` under `seed`: smaller keys are drawn first.
    /// @dev `u = (top 128 bits of keccak256(seed, member)) + 1` lies in [1, 2^128]; `E = 128 - log2(u)`
    ///      in Q32 is `-log2(u / 2^128)`, an exponential variate (in bits). `weight` must be non-zero.
    function key(bytes32 seed, address member, uint256 weight) internal pure returns (uint256) {
        uint256 u = (uint256(keccak256(abi.encode(seed, member))) >> 128) + 1;
        uint256 e = (128 << FRACTION_BITS) - log2Q32(u);
        return (e << 128) / weight;
    }
}
