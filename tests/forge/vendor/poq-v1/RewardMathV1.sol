// SPDX-License-Identifier: MIT
// The PoQ contract of main at dff63f8 (`git show dff63f8:contracts/PoQ.sol`), renamed PoQV1 with its
// RewardMath renamed RewardMathV1 so both versions compile side by side. Nothing else is changed:
// the adversarial campaign runs against it to show that it finds the holes v2 closes.
pragma solidity 0.8.28;

/// @title RewardMathV1
/// @notice The cost-aware PoQ settlement math, in WAD fixed point (1e18 = 1.0).
/// @dev Every function rounds down and uses the same integer operations, in the
///      same order, as `oracle/reward.py`, so the Python reference model returns
///      the same wei as the contract for any inputs. Change both or neither.
library RewardMathV1 {
    /*//////////////////////////////////////////////////////////////
                                 CONSTANTS
    //////////////////////////////////////////////////////////////*/

    /// @notice Fixed-point one.
    uint256 internal constant WAD = 1e18;

    /*//////////////////////////////////////////////////////////////
                                  STRUCTS
    //////////////////////////////////////////////////////////////*/

    /// @notice A node's cost attestation for one round.
    /// @param latencyMs wall time of the inference or the scoring, in milliseconds
    /// @param tokens output tokens generated (inference) or tokens processed (evaluation)
    /// @param memoryMb peak memory, in megabytes
    struct Cost {
        uint64 latencyMs;
        uint64 tokens;
        uint64 memoryMb;
    }

    /// @notice How attested costs map to a normalised cost in [0, WAD].
    /// @dev The weights sum to WAD; each reference is the measure that alone costs its full weight.
    struct CostModel {
        uint64 wLatency;
        uint64 wTokens;
        uint64 wMemory;
        uint64 refLatencyMs;
        uint64 refTokens;
        uint64 refMemoryMb;
    }

    /*//////////////////////////////////////////////////////////////
                                 FUNCTIONS
    //////////////////////////////////////////////////////////////*/

    /// @notice Equivalent to `x * y / WAD` rounded down.
    function mulWad(uint256 x, uint256 y) internal pure returns (uint256) {
        return x * y / WAD;
    }

    /// @notice `min(WAD, sum_k floor(w_k * x_k / ref_k))`: each term rounded down, then capped.
    function normalisedCost(Cost memory c, CostModel memory m) internal pure returns (uint64) {
        uint256 total = uint256(m.wLatency) * c.latencyMs / m.refLatencyMs
            + uint256(m.wTokens) * c.tokens / m.refTokens
            + uint256(m.wMemory) * c.memoryMb / m.refMemoryMb;
        return total > WAD ? uint64(WAD) : uint64(total);
    }

    /// @notice Mean of `xs` rounded down. `xs` must be non-empty.
    function mean(uint256[] memory xs) internal pure returns (uint256 sum) {
        for (uint256 i; i < xs.length; ++i) sum += xs[i];
        return sum / xs.length;
    }

    /// @notice Median of `xs`; for an even count, the mean of the two middle values rounded down.
    /// @dev Sorts `xs` in place (insertion sort: a committee has at most 16 members).
    function median(uint256[] memory xs) internal pure returns (uint256) {
        uint256 len = xs.length;
        for (uint256 i = 1; i < len; ++i) {
            uint256 key = xs[i];
            uint256 j = i;
            while (j > 0 && xs[j - 1] > key) {
                xs[j] = xs[j - 1];
                --j;
            }
            xs[j] = key;
        }
        uint256 mid = len / 2;
        return len % 2 == 1 ? xs[mid] : (xs[mid - 1] + xs[mid]) / 2;
    }

    /// @notice `max(0, mulWad(alpha, quality) - mulWad(beta, cost))`: the linear cost-aware reward.
    function linearReward(uint256 alpha, uint256 quality, uint256 beta, uint256 cost)
        internal
        pure
        returns (uint256)
    {
        uint256 gain = mulWad(alpha, quality);
        uint256 loss = mulWad(beta, cost);
        return gain > loss ? gain - loss : 0;
    }

    /// @notice `WAD - floor(sum_i |scores_i - quality_i| / n)`: an evaluator's closeness to consensus.
    function agreement(uint64[] storage scores, uint256[] memory quality) internal view returns (uint256) {
        uint256 n = quality.length;
        uint256 deviation;
        for (uint256 i; i < n; ++i) {
            uint256 s = scores[i];
            deviation += s > quality[i] ? s - quality[i] : quality[i] - s;
        }
        return WAD - deviation / n;
    }

    /// @notice `floor(pool / shares) * reward / WAD` rounded down: one share of a pool, scaled by a WAD reward.
    function payout(uint256 pool, uint256 shares, uint256 reward) internal pure returns (uint256) {
        return pool / shares * reward / WAD;
    }
}
