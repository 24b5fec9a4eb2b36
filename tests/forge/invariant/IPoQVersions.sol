// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {PoQCampaign} from "./PoQCampaign.sol";

/// @notice contracts/PoQ.sol (v2) as the campaign calls it, type for type on the wire.
/// @dev Mirrored rather than imported: PoQ compiles only via IR, which takes the offline (WebAssembly)
///      compiler minutes over the handlers, so the campaign compiles without it (foundry.toml's
///      `compilation_restrictions`) and deploys PoQ from its artifact. `PoQV2Campaign`'s constructor
///      reads the parameters back, so a mirror that drifts from the contract fails at once.
interface IPoQV2 {
    struct Task {
        bytes32 taskHash;
        string uri;
        string kind;
        uint8 slots;
        uint8 committeeSize;
        bytes32 referenceCommitment;
        uint32 paramsVersion;
    }

    struct Round {
        uint8 stage;
        uint32 deadline;
        uint32 openedAt;
        uint32 paramsVersion;
        uint8 slots;
        uint8 committeeSize;
        uint8 drawn;
        uint8 commits;
        uint8 reveals;
        uint8 scoreCommits;
        uint8 scoreReveals;
        bool hasReference;
        bool referenceRevealed;
        uint80 seed;
        address requester;
        uint96 budget;
    }

    function setParams(PoQCampaign.ParamsInput calldata p) external;
    function params(uint32 version) external view returns (PoQCampaign.ParamsInput memory);
    function openRound(Task calldata task) external payable returns (uint256 roundId);
    function revealReference(uint256 roundId, bytes32 taskHash, string calldata referenceAnswer, bytes32 salt) external;
    function settle(uint256 roundId, PoQCampaign.Lists calldata s) external;
    function round(uint256 roundId) external view returns (Round memory r, bool expired);
    function nodes(address node)
        external
        view
        returns (uint8 role, uint16 setIndex, uint32 pendingRounds, uint32 activeAt, uint32 exitableAt, uint32 recentAt, uint96 stake);
    function evaluation(uint256 roundId, address evaluator) external view returns (uint8 entry);
}

/// @notice tests/forge/vendor/poq-v1/PoQV1.sol (dff63f8) as the campaign calls it, type for type on the wire.
interface IPoQV1 {
    struct Params {
        uint64 alphaInference;
        uint64 betaInference;
        uint64 alphaEvaluator;
        uint64 betaEvaluator;
        uint64 inferenceShare;
        PoQCampaign.CostModel inferenceCost;
        PoQCampaign.CostModel evaluatorCost;
        uint32 commitWindow;
        uint32 revealWindow;
        uint32 referenceWindow;
        uint32 scoreCommitWindow;
        uint32 scoreRevealWindow;
        uint32 unbondingBlocks;
        uint128 minStake;
        uint128 slashAmount;
        uint8 aggregation;
    }

    struct Task {
        bytes32 taskHash;
        string uri;
        string kind;
        uint8 slots;
        uint8 committeeSize;
        bytes32 referenceCommitment;
    }

    struct Round {
        address requester;
        uint8 stage;
        uint8 slots;
        uint8 committeeSize;
        uint8 commits;
        uint8 reveals;
        uint8 scoreCommits;
        uint8 scoreReveals;
        bool referenceRevealed;
        uint32 paramsVersion;
        uint64 deadline;
        uint128 inferencePool;
        uint128 evaluatorPool;
        bytes32 taskHash;
        bytes32 referenceCommitment;
    }

    function setParams(Params calldata p) external;
    function params(uint32 version) external view returns (Params memory);
    function openRound(Task calldata task) external payable returns (uint256 roundId);
    function revealReference(uint256 roundId, string calldata referenceAnswer, bytes32 salt) external;
    function settle(uint256 roundId) external;
    function round(uint256 roundId) external view returns (Round memory r, bool expired);
    function nodes(address node) external view returns (uint8 role, uint32 pendingRounds, uint64 exitableAt, uint128 stake);
    function committee(uint256 roundId) external view returns (address[] memory);
}
