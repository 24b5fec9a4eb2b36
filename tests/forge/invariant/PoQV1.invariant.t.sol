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
}
