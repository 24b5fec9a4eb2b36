// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IPoQV1} from "./IPoQVersions.sol";
import {PoQCampaign} from "./PoQCampaign.sol";

/// @title PoQV1Campaign: the same campaign's hooks for the contract of dff63f8 (tests/forge/vendor/poq-v1)
/// @notice Where v1's ABI differs: its Task has no parameter version (a stale version cannot be
///         asked for), `revealReference` takes no task hash, `settle(roundId)` takes no lists (so
///         forged lists cannot be tried), and its parameters have no minimum budget (a zero one
///         cannot be set). Every other action and every property is the shared one.
contract PoQV1Campaign is PoQCampaign {
    function _adapterName() internal pure override returns (string memory) {
        return "v1";
    }

    function _deploy(ParamsInput memory p) internal override returns (address deployed) {
        IPoQV1.Params memory q = _params(p);
        deployed = vm.deployCode("PoQV1.sol:PoQV1", abi.encode(q));
        require(keccak256(abi.encode(IPoQV1(deployed).params(1))) == keccak256(abi.encode(q)), "IPoQV1 mirror is out of date");
    }

    function _params(ParamsInput memory p) internal pure returns (IPoQV1.Params memory q) {
        q.alphaInference = p.alphaInference;
        q.betaInference = p.betaInference;
        q.alphaEvaluator = p.alphaEvaluator;
        q.betaEvaluator = p.betaEvaluator;
        q.inferenceShare = p.inferenceShare;
        q.inferenceCost = p.inferenceCost;
        q.evaluatorCost = p.evaluatorCost;
        q.commitWindow = p.commitWindow;
        q.revealWindow = p.revealWindow;
        q.referenceWindow = p.referenceWindow;
        q.scoreCommitWindow = p.scoreCommitWindow;
        q.scoreRevealWindow = p.scoreRevealWindow;
        q.unbondingBlocks = p.unbondingBlocks;
        q.minStake = p.minStake;
        q.slashAmount = p.slashAmount;
        q.aggregation = p.aggregation;
    }

    function _setParamsCall(ParamsInput memory p) internal pure override returns (bytes memory, bool) {
        return (abi.encodeCall(IPoQV1.setParams, (_params(p))), p.minBudget != 0);
    }

    function _openRoundCall(OpenArgs memory o) internal pure override returns (bytes memory, bool) {
        IPoQV1.Task memory t =
            IPoQV1.Task(o.taskHash, "data:,campaign task", "qa", o.slots, o.committeeSize, o.referenceCommitment);
        return (abi.encodeCall(IPoQV1.openRound, (t)), false);
    }

    function _revealReferenceCall(uint256 id, bytes32, string memory answer, bytes32 salt)
        internal
        pure
        override
        returns (bytes memory, bool)
    {
        return (abi.encodeCall(IPoQV1.revealReference, (id, answer, salt)), false);
    }

    function _settleCall(uint256 id, Lists memory) internal pure override returns (bytes memory, bool) {
        return (abi.encodeCall(IPoQV1.settle, (id)), false);
    }

    function _settleTakesLists() internal pure override returns (bool) {
        return false;
    }

    function _roundView(uint256 id) internal view override returns (RoundView memory v) {
        (IPoQV1.Round memory r, bool expired) = IPoQV1(poq).round(id);
        v.stage = r.stage;
        v.expired = expired;
        v.deadline = r.deadline;
        v.commits = r.commits;
        v.reveals = r.reveals;
        v.scoreCommits = r.scoreCommits;
        v.scoreReveals = r.scoreReveals;
        v.drawn = IPoQV1(poq).committee(id).length;
        v.budget = uint256(r.inferencePool) + r.evaluatorPool;
    }

    function _node(address a) internal view override returns (NodeView memory v) {
        (uint8 role,, uint64 exitableAt, uint128 stake) = IPoQV1(poq).nodes(a);
        v.role = role;
        v.stake = stake;
        v.exiting = exitableAt != 0;
    }

    function _committeeOf(uint256 id) internal view override returns (address[] memory) {
        return IPoQV1(poq).committee(id);
    }

    /// @dev v1's scores follow the outputs in reveal order.
    function _scoreOrder(uint256 id) internal view override returns (address[] memory) {
        return _revealOrder(id);
    }
}
