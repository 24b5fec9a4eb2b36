// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {RewardMath} from "../../contracts/RewardMath.sol";

/// @notice The calls PoQ v1 (dff63f8, tests/forge/vendor/poq-v1/PoQV1.sol) and v2 (contracts/PoQ.sol)
///         share, ABI for ABI: `Role` is a uint8 on the wire (None 0, Inference 1, Evaluator 2 in
///         both), and v1's `RewardMathV1.Cost` is `RewardMath.Cost` field for field.
/// @dev The hole tests' adapters (holes/RoundsBase.sol) and the campaign (invariant/PoQCampaign.sol)
///      encode these calls once for both versions (`abi.encodeCall(IPoQCommon.x, ...)`) and make
///      them as low-level calls, so each is written once; only what differs in ABI is per version.
interface IPoQCommon {
    function register(uint8 role) external payable;
    function addStake() external payable;
    function requestExit() external;
    function completeExit() external;
    function advance(uint256 roundId) external;
    function commitOutput(uint256 roundId, bytes32 commitment) external;
    function revealOutput(uint256 roundId, string calldata output, RewardMath.Cost calldata cost, bytes32 salt) external;
    function commitScores(uint256 roundId, bytes32 commitment) external;
    function revealScores(uint256 roundId, uint64[] calldata scores, RewardMath.Cost calldata cost, bytes32 salt)
        external;
    function withdraw() external;
    function transferOwnership(address newOwner) external;
    /// @dev v2 declares it `view` (it only reverts); a low-level call reaches both.
    function renounceOwnership() external;
    function paramsVersion() external view returns (uint32);
    function balances(address account) external view returns (uint256);
    function owner() external view returns (address);
}
