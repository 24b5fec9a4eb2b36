// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {PoQ} from "../../../contracts/PoQ.sol";
import {Sorted} from "../Sorted.sol";
import {PoQCampaign} from "./PoQCampaign.sol";

/// @title PoQV2Campaign: the campaign's hooks for contracts/PoQ.sol (v2)
/// @notice The campaign states parameters, tasks and settlement lists in v2's own types, so each
///         hook is v2's call as is: the Task carries the parameter version, `revealReference` the task
///         hash, and `settle` the per-output lists, checked against storage.
contract PoQV2Campaign is PoQCampaign {
    function _adapterName() internal pure override returns (string memory) {
        return "v2";
    }

    /// @dev From PoQ's via-IR artifact, named by file (foundry.toml's `out`): the campaign compiles
    ///      without IR and imports PoQ's types, so forge also builds PoQ in the campaign's profile, and
    ///      a `PoQ.sol:PoQ` lookup from here would deploy that unoptimised build instead.
    function _deploy(PoQ.Params memory p) internal override returns (address) {
        return vm.deployCode(".build/forge-out/PoQ.sol/PoQ.json", abi.encode(p));
    }

    function _setParamsCall(PoQ.Params memory p) internal pure override returns (bytes memory, bool) {
        return (abi.encodeCall(PoQ.setParams, (p)), true);
    }

    function _openRoundCall(PoQ.Task memory o) internal pure override returns (bytes memory, bool) {
        return (abi.encodeCall(PoQ.openRound, (o)), true);
    }

    function _revealReferenceCall(uint256 id, bytes32 taskHash, string memory answer, bytes32 salt)
        internal
        pure
        override
        returns (bytes memory, bool)
    {
        return (abi.encodeCall(PoQ.revealReference, (id, taskHash, answer, salt)), true);
    }

    function _settleCall(uint256 id, PoQ.Settlement memory s) internal pure override returns (bytes memory, bool) {
        return (abi.encodeCall(PoQ.settle, (id, s)), true);
    }

    function _settleTakesLists() internal pure override returns (bool) {
        return true;
    }

    function _roundView(uint256 id) internal view override returns (RoundView memory) {
        (PoQ.Round memory r, bool expired) = PoQ(poq).round(id);
        return RoundView(
            r.stage, expired, r.deadline, r.commits, r.reveals, r.scoreCommits, r.scoreReveals, r.drawn, r.budget
        );
    }

    function _node(address a) internal view override returns (NodeView memory) {
        (PoQ.Role role,,,, uint32 exitableAt,, uint96 stake) = PoQ(poq).nodes(a);
        return NodeView(uint8(role), stake, exitableAt != 0);
    }

    /// @dev v2 keeps no member list: every actor that may have registered is asked for its entry.
    function _committeeOf(uint256 id) internal view override returns (address[] memory members) {
        address[] memory nodes = _nodeActors();
        members = new address[](nodes.length);
        uint256 n;
        for (uint256 i; i < nodes.length; ++i) {
            if (PoQ(poq).evaluation(id, nodes[i]) != PoQ.Entry.None) members[n++] = nodes[i];
        }
        assembly ("memory-safe") {
            mstore(members, n)
        }
    }

    /// @dev Scores follow the revealed outputs in ascending address order.
    function _scoreOrder(uint256 id) internal view override returns (address[] memory) {
        return Sorted.addresses(_revealOrder(id));
    }
}
