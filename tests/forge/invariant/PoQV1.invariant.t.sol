// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {PoQCampaign} from "./PoQCampaign.sol";
import {PoQInvariants} from "./PoQInvariants.sol";
import {PoQV1Campaign} from "./PoQV1Campaign.sol";

/// @title The same campaign against the contract of dff63f8 (tests/forge/vendor/poq-v1/PoQV1.sol).
/// @notice Expected to FAIL: it must find the zero-commitment holes (P2: one inference node filling
///         several slots with `commitOutput(id, 0)`; P3: one member committing `commitScores(id, 0)`
///         again and again). tests/contract/test_forge.py runs it and asserts exactly that; a campaign
///         that cannot find a known bug proves nothing.
contract PoQV1CampaignTest is PoQInvariants {
    function _newHandler() internal override returns (PoQCampaign) {
        return new PoQV1Campaign();
    }

    /// @notice No final settlement: it exercises P1, P4 and P5, which this campaign is not run for
    ///         (tests/contract/test_forge.py runs P2, P3, P6 and P7 on v1). On v1 it can break P4 (the
    ///         zero-commitment hole lets one node be slashed twice in a round), and a break there ends
    ///         a run of P3's or P2's campaign before the hole that campaign is run to find shows.
    /// @dev Every run starts from a fresh handler (`setUp`), so nothing a final settlement records
    ///      would reach a later run.
    function afterInvariant() public override {}
}
