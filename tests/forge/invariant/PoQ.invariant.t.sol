// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {PoQCampaign} from "./PoQCampaign.sol";
import {PoQInvariants} from "./PoQInvariants.sol";
import {PoQV2Campaign} from "./PoQV2Campaign.sol";

/// @title The adversarial campaign against contracts/PoQ.sol: every property must hold.
contract PoQCampaignTest is PoQInvariants {
    function _newHandler() internal override returns (PoQCampaign) {
        return new PoQV2Campaign();
    }
}
