// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {PoQ} from "../../../contracts/PoQ.sol";
import {PoQV1} from "../vendor/poq-v1/PoQV1.sol";
import {V1Params} from "../V1Params.sol";
import {RoundsBase} from "./RoundsBase.sol";

/// @notice The hole tests' adapter over the contract of dff63f8 (tests/forge/vendor/poq-v1/PoQV1.sol):
///         what differs from v2 in ABI. The hole tests run against it to show that each of them
///         catches the hole v2 closes.
contract V1Rounds is RoundsBase {
    function _poq() internal view returns (PoQV1) {
        return PoQV1(_target);
    }

    function _deploy(PoQ.Params memory p) internal override returns (address) {
        return vm.deployCode("tests/forge/vendor/poq-v1/PoQV1.sol:PoQV1", abi.encode(V1Params.from(p)));
    }

    function _setParamsCall(PoQ.Params memory p) internal pure override returns (bytes memory) {
        return abi.encodeCall(PoQV1.setParams, (V1Params.from(p)));
    }

    /// @dev v1's Task has no parameter version: a round reads the one in force.
    function _openRoundCall(PoQ.Task memory t) internal pure override returns (bytes memory) {
        PoQV1.Task memory task = PoQV1.Task(t.taskHash, t.uri, t.kind, t.slots, t.committeeSize, t.referenceCommitment);
        return abi.encodeCall(PoQV1.openRound, (task));
    }

    function _revealReferenceCall(uint256 roundId) internal view override returns (bytes memory) {
        return abi.encodeCall(PoQV1.revealReference, (roundId, REFERENCE, _referenceSalt[roundId]));
    }

    function _settleCall(uint256 roundId) internal pure override returns (bytes memory) {
        return abi.encodeCall(PoQV1.settle, (roundId));
    }

    function _round(uint256 roundId) internal view override returns (RoundInfo memory) {
        (PoQV1.Round memory r,) = _poq().round(roundId);
        return RoundInfo(uint8(r.stage), r.deadline, r.paramsVersion, r.reveals, r.inferencePool, r.evaluatorPool);
    }

    function stakeOf(address node) external view override returns (uint256 stake) {
        (,,, stake) = _poq().nodes(node);
    }

    function isMember(uint256 roundId, address evaluator) public view override returns (bool) {
        return _poq().evaluation(roundId, evaluator).member;
    }

    function committee(uint256 roundId) external view override returns (address[] memory) {
        return _poq().committee(roundId);
    }
}
