// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {PoQ} from "../../../contracts/PoQ.sol";
import {Sorted} from "../Sorted.sol";
import {RoundsBase} from "./RoundsBase.sol";

/// @notice The hole tests' adapter over the v2 contract (contracts/PoQ.sol): what differs from v1 in
///         ABI. `settle` takes the round's lists in calldata; this adapter builds them, in ascending
///         address order, from the entries the contract stored for the nodes registered through it,
///         and the scorecards they revealed.
contract V2Rounds is RoundsBase {
    function _poq() internal view returns (PoQ) {
        return PoQ(_target);
    }

    function _deploy(PoQ.Params memory p) internal override returns (address) {
        return vm.deployCode("contracts/PoQ.sol:PoQ", abi.encode(p));
    }

    function _setParamsCall(PoQ.Params memory p) internal pure override returns (bytes memory) {
        return abi.encodeCall(PoQ.setParams, (p));
    }

    function _openRoundCall(PoQ.Task memory task) internal pure override returns (bytes memory) {
        return abi.encodeCall(PoQ.openRound, (task));
    }

    function _revealReferenceCall(uint256 roundId) internal view override returns (bytes memory) {
        return abi.encodeCall(PoQ.revealReference, (roundId, TASK_HASH, REFERENCE, _referenceSalt[roundId]));
    }

    function _settleCall(uint256 roundId) internal view override returns (bytes memory) {
        return abi.encodeCall(PoQ.settle, (roundId, settlement(roundId)));
    }

    /// @dev v2 stores the budget; the pools are its split under the round's parameters.
    function _round(uint256 roundId) internal view override returns (RoundInfo memory) {
        (PoQ.Round memory r,) = _poq().round(roundId);
        uint256 inferencePool = uint256(r.budget) * _poq().params(r.paramsVersion).inferenceShare / 1e18;
        return
            RoundInfo(uint8(r.stage), r.deadline, r.paramsVersion, r.reveals, inferencePool, r.budget - inferencePool);
    }

    function stakeOf(address node) external view override returns (uint256 stake) {
        (,,,,,, stake) = _poq().nodes(node);
    }

    function isMember(uint256 roundId, address evaluator) public view override returns (bool) {
        return _poq().evaluation(roundId, evaluator) != PoQ.Entry.None;
    }

    /// @dev v2 keeps no member list: every evaluator registered through the adapter is asked.
    function committee(uint256 roundId) public view override returns (address[] memory) {
        uint256 m = _evaluators.length;
        address[] memory members = new address[](m);
        uint256 k;
        for (uint256 i; i < m; ++i) {
            if (isMember(roundId, _evaluators[i])) members[k++] = _evaluators[i];
        }
        return Sorted.addresses(members, k);
    }

    /// @notice The one settlement `settle` accepts: revealed outputs, silent committers and the drawn
    ///         committee, each ascending by address, and each revealed member's scorecard.
    function settlement(uint256 roundId) public view returns (PoQ.Settlement memory s) {
        uint256 n = _inference.length;
        address[] memory outputs = new address[](n);
        address[] memory silent = new address[](n);
        uint256 nOut;
        uint256 nSilent;
        for (uint256 i; i < n; ++i) {
            (PoQ.Entry entry,) = _poq().submission(roundId, _inference[i]);
            if (entry == PoQ.Entry.Revealed) outputs[nOut++] = _inference[i];
            else if (entry == PoQ.Entry.Committed) silent[nSilent++] = _inference[i];
        }
        s.outputs = Sorted.addresses(outputs, nOut);
        s.silent = Sorted.addresses(silent, nSilent);
        s.committee = committee(roundId);
        s.cards = new PoQ.Scorecard[](s.committee.length);
        for (uint256 j; j < s.committee.length; ++j) {
            address member = s.committee[j];
            if (_poq().evaluation(roundId, member) == PoQ.Entry.Revealed) {
                s.cards[j] = PoQ.Scorecard(_uniform(nOut, _revealedScore[roundId][member]), _evaluatorCost());
            }
        }
    }
}
