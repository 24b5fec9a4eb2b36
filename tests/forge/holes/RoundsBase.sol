// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Vm} from "../Vm.sol";
import {IRounds} from "./IRounds.sol";
import {RewardMath} from "../../../contracts/RewardMath.sol";

/// @notice What both adapters share: the fixed output, reference and costs, the commitment
///         preimages (identical in both versions), and the nodes registered through the adapter.
abstract contract RoundsBase is IRounds {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    string internal constant OUTPUT = "Paris is the capital of France.";
    string internal constant REFERENCE = "Paris";
    bytes32 internal constant TASK_HASH = keccak256("What is the capital of France?");

    // The parameter set both versions start with (the same numbers in both).
    uint64 internal constant ALPHA = 0.8e18;
    uint64 internal constant BETA = 0.2e18;
    uint64 internal constant INFERENCE_SHARE = 0.7e18;
    uint96 internal constant MIN_STAKE = 1 ether;
    uint96 internal constant SLASH = 1 ether;
    uint96 internal constant MIN_BUDGET = 0.01 ether;
    uint32 internal constant WINDOW = 20;
    uint32 internal constant UNBONDING = 50;

    /// @dev Inference nodes and evaluators registered through the adapter, in registration order.
    address[] internal _inference;
    address[] internal _evaluators;

    /// @dev Who opened each round and the salt of its reference (zero: none).
    mapping(uint256 => address) internal _requester;
    mapping(uint256 => bytes32) internal _referenceSalt;

    function _inferenceCost() internal pure returns (RewardMath.Cost memory) {
        return RewardMath.Cost({latencyMs: 2_000, tokens: 200, memoryMb: 4_000});
    }

    function _evaluatorCost() internal pure returns (RewardMath.Cost memory) {
        return RewardMath.Cost({latencyMs: 1_000, tokens: 100, memoryMb: 2_000});
    }

    function _costModel() internal pure returns (RewardMath.CostModel memory) {
        return RewardMath.CostModel({
            wLatency: 0.5e18,
            wTokens: 0.3e18,
            wMemory: 0.2e18,
            refLatencyMs: 10_000,
            refTokens: 1_000,
            refMemoryMb: 16_000
        });
    }

    /// @dev Gives `who` (the pranked sender) the value it is about to send.
    function _fund(address who, uint256 value) internal {
        vm.deal(who, who.balance + value);
    }

    function _outputCommitment(uint256 roundId, address node, bytes32 salt) internal view returns (bytes32) {
        return
            keccak256(
                abi.encode(block.chainid, target(), roundId, node, keccak256(bytes(OUTPUT)), _inferenceCost(), salt)
            );
    }

    function _referenceCommitment(address requester, bytes32 salt) internal view returns (bytes32) {
        return keccak256(abi.encode(block.chainid, target(), requester, TASK_HASH, keccak256(bytes(REFERENCE)), salt));
    }

    function _scoresCommitment(uint256 roundId, address member, uint64[] memory scores, bytes32 salt)
        internal
        view
        returns (bytes32)
    {
        return keccak256(
            abi.encode(block.chainid, target(), roundId, member, keccak256(abi.encode(scores)), _evaluatorCost(), salt)
        );
    }

    /// @dev One score per revealed output, all `score`.
    function _uniform(uint256 outputs, uint64 score) internal pure returns (uint64[] memory scores) {
        scores = new uint64[](outputs);
        for (uint256 i; i < outputs; ++i) {
            scores[i] = score;
        }
    }

    function _track(address node, bool evaluator) internal {
        if (evaluator) _evaluators.push(node);
        else _inference.push(node);
    }

    function target() public view virtual returns (address);
}
