// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {PoQ} from "../../contracts/PoQ.sol";
import {PoQV1} from "./vendor/poq-v1/PoQV1.sol";
import {RewardMath} from "../../contracts/RewardMath.sol";
import {RewardMathV1} from "./vendor/poq-v1/RewardMathV1.sol";

/// @title V1Params: v2's parameters in the layout of the contract of dff63f8
/// @notice The forge tests state parameters once, as v2's `PoQ.Params`, and give them to v1 through
///         this one mapping (the hole tests' `V1Rounds`, the campaign's `PoQV1Campaign`). v1 orders
///         the fields otherwise, holds the stakes in uint128, and has no minimum budget (dropped here).
library V1Params {
    function from(PoQ.Params memory p) internal pure returns (PoQV1.Params memory) {
        return PoQV1.Params({
            alphaInference: p.alphaInference,
            betaInference: p.betaInference,
            alphaEvaluator: p.alphaEvaluator,
            betaEvaluator: p.betaEvaluator,
            inferenceShare: p.inferenceShare,
            inferenceCost: _model(p.inferenceCost),
            evaluatorCost: _model(p.evaluatorCost),
            commitWindow: p.commitWindow,
            revealWindow: p.revealWindow,
            referenceWindow: p.referenceWindow,
            scoreCommitWindow: p.scoreCommitWindow,
            scoreRevealWindow: p.scoreRevealWindow,
            unbondingBlocks: p.unbondingBlocks,
            minStake: p.minStake,
            slashAmount: p.slashAmount,
            aggregation: PoQV1.Aggregation(uint8(p.aggregation))
        });
    }

    function _model(RewardMath.CostModel memory m) private pure returns (RewardMathV1.CostModel memory) {
        return RewardMathV1.CostModel(m.wLatency, m.wTokens, m.wMemory, m.refLatencyMs, m.refTokens, m.refMemoryMb);
    }
}
