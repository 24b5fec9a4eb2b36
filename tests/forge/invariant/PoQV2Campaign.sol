// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IPoQV2} from "./IPoQVersions.sol";
import {PoQCampaign} from "./PoQCampaign.sol";

/// @title PoQV2Campaign: the campaign's hooks for contracts/PoQ.sol (v2)
/// @notice The Task carries the parameter version, `revealReference` the task hash, and `settle`
///         the per-output lists (`Lists` is `PoQ.Settlement` on the wire), checked against storage.
contract PoQV2Campaign is PoQCampaign {
    function _adapterName() internal pure override returns (string memory) {
        return "v2";
    }

    /// @dev `ParamsInput` is v2's `Params` field for field; reading version 1 back checks the mirror.
    function _deploy(ParamsInput memory p) internal override returns (address deployed) {
        deployed = vm.deployCode("contracts/PoQ.sol:PoQ", abi.encode(p));
        require(keccak256(abi.encode(IPoQV2(deployed).params(1))) == keccak256(abi.encode(p)), "IPoQV2 mirror is out of date");
    }

    function _setParamsCall(ParamsInput memory p) internal pure override returns (bytes memory, bool) {
        return (abi.encodeCall(IPoQV2.setParams, (p)), true);
    }

    function _openRoundCall(OpenArgs memory o) internal pure override returns (bytes memory, bool) {
        IPoQV2.Task memory t = IPoQV2.Task(
            o.taskHash, "data:,campaign task", "qa", o.slots, o.committeeSize, o.referenceCommitment, o.paramsVersion
        );
        return (abi.encodeCall(IPoQV2.openRound, (t)), true);
    }

    function _revealReferenceCall(uint256 id, bytes32 taskHash, string memory answer, bytes32 salt)
        internal
        pure
        override
        returns (bytes memory, bool)
    {
        return (abi.encodeCall(IPoQV2.revealReference, (id, taskHash, answer, salt)), true);
    }

    function _settleCall(uint256 id, Lists memory s) internal pure override returns (bytes memory, bool) {
        return (abi.encodeCall(IPoQV2.settle, (id, s)), true);
    }

    function _settleTakesLists() internal pure override returns (bool) {
        return true;
    }

    function _roundView(uint256 id) internal view override returns (RoundView memory v) {
        (IPoQV2.Round memory r, bool expired) = IPoQV2(poq).round(id);
        v.stage = r.stage;
        v.expired = expired;
        v.deadline = r.deadline;
        v.commits = r.commits;
        v.reveals = r.reveals;
        v.scoreCommits = r.scoreCommits;
        v.scoreReveals = r.scoreReveals;
        v.drawn = r.drawn;
        v.budget = r.budget;
    }

    function _node(address a) internal view override returns (NodeView memory v) {
        (uint8 role,,,, uint32 exitableAt,, uint96 stake) = IPoQV2(poq).nodes(a);
        v.role = role;
        v.stake = stake;
        v.exiting = exitableAt != 0;
    }

    /// @dev v2 keeps no member list: every actor that may have registered is asked for its entry.
    function _committeeOf(uint256 id) internal view override returns (address[] memory members) {
        address[] memory nodes = _nodeActors();
        members = new address[](nodes.length);
        uint256 n;
        for (uint256 i; i < nodes.length; ++i) {
            if (IPoQV2(poq).evaluation(id, nodes[i]) != 0) members[n++] = nodes[i];
        }
        assembly ("memory-safe") {
            mstore(members, n)
        }
    }

    /// @dev Scores follow the revealed outputs in ascending address order.
    function _scoreOrder(uint256 id) internal view override returns (address[] memory) {
        return _sorted(_revealOrder(id));
    }
}
