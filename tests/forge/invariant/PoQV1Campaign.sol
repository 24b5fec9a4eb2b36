// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {PoQ} from "../../../contracts/PoQ.sol";
import {PoQV1} from "../vendor/poq-v1/PoQV1.sol";
import {V1Params} from "../V1Params.sol";
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

    /// @dev From PoQV1's via-IR artifact, named by file (foundry.toml's `out`): the campaign compiles
    ///      without IR and imports PoQV1's types, so forge also builds PoQV1 in the campaign's profile, and
    ///      a `PoQV1.sol:PoQV1` lookup from here would deploy that unoptimised build instead.
    function _deploy(PoQ.Params memory p) internal override returns (address) {
        return vm.deployCode(".build/forge-out/PoQV1.sol/PoQV1.json", abi.encode(V1Params.from(p)));
    }

    function _setParamsCall(PoQ.Params memory p) internal pure override returns (bytes memory, bool) {
        return (abi.encodeCall(PoQV1.setParams, (V1Params.from(p))), p.minBudget != 0);
    }

    function _openRoundCall(PoQ.Task memory o) internal pure override returns (bytes memory, bool) {
        PoQV1.Task memory t = PoQV1.Task(o.taskHash, o.uri, o.kind, o.slots, o.committeeSize, o.referenceCommitment);
        return (abi.encodeCall(PoQV1.openRound, (t)), false);
    }

    function _revealReferenceCall(uint256 id, bytes32, string memory answer, bytes32 salt)
        internal
        pure
        override
        returns (bytes memory, bool)
    {
        return (abi.encodeCall(PoQV1.revealReference, (id, answer, salt)), false);
    }

    function _settleCall(uint256 id, PoQ.Settlement memory) internal pure override returns (bytes memory, bool) {
        return (abi.encodeCall(PoQV1.settle, (id)), false);
    }

    function _settleTakesLists() internal pure override returns (bool) {
        return false;
    }

    /// @dev v1 stores the two pools, not the budget, and the committee as a list; it numbers its stages as v2 does.
    function _roundView(uint256 id) internal view override returns (RoundView memory) {
        (PoQV1.Round memory r, bool expired) = PoQV1(poq).round(id);
        uint256 drawn = PoQV1(poq).committee(id).length;
        uint256 budget = uint256(r.inferencePool) + r.evaluatorPool;
        PoQ.Stage stage = PoQ.Stage(uint8(r.stage));
        return
            RoundView(stage, expired, r.deadline, r.commits, r.reveals, r.scoreCommits, r.scoreReveals, drawn, budget);
    }

    function _node(address a) internal view override returns (NodeView memory) {
        (PoQV1.Role role,, uint64 exitableAt, uint128 stake) = PoQV1(poq).nodes(a);
        return NodeView(uint8(role), stake, exitableAt != 0);
    }

    function _committeeOf(uint256 id) internal view override returns (address[] memory) {
        return PoQV1(poq).committee(id);
    }

    /// @dev v1's scores follow the outputs in reveal order.
    function _scoreOrder(uint256 id) internal view override returns (address[] memory) {
        return _revealOrder(id);
    }
}
