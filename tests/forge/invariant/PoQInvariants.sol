// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Cheats} from "../Vm.sol";
import {
    PoQCampaign, SOLVENCY, INFERENCE_SEATS, COMMITTEE_SEATS, SHARES, LIVENESS, ELIGIBILITY, HOSTILE
} from "./PoQCampaign.sol";

/// @title PoQInvariants: the properties of PoQ under attack, stated once
/// @notice In plain words, whatever any actor does, in any order, at any block:
///         P1 solvency: PoQ holds, to the wei, the stakes plus the withdrawable balances plus the
///            budgets of unsettled rounds, which is what was paid in less what was withdrawn; no
///            withdrawal (re-entrant or not) pays more than is owed.
///         P2 no inference slot is held twice: a node's second commit to a round never succeeds, and
///            a round counts exactly as many output commits as distinct nodes committed, at most its slots.
///         P3 no committee seat is held twice: the same for score commits and the drawn committee.
///         P4 nobody is credited more than their share: per settlement, each inference payout is at
///            most inferencePool / slots and each evaluator payout at most evaluatorPool / K, beside
///            compensation only to nodes that did their part and only from what the pools left unpaid;
///            slashes fall only on the silent and the absent; paid + refund == budget; every balance
///            moves by exactly what the events credit.
///         P5 every round reaches Settled: an honest settle is refused only as too early, and at the end
///            of every run, once every deadline has passed, every round settles with the true lists.
///         P6 an under-staked evaluator is never drawn: not one registered in or after the round's
///            opening block, not one below the round's minimum stake when it opened or at the draw,
///            not one exiting.
///         P7 hostile calls are refused: forged reveals (another node's commitment, a wrong salt, a
///            second reveal), forged reference reveals, forged settlement lists and scorecards, invalid
///            or non-owner parameter changes, renouncing ownership, stale parameter versions, dust budgets.
///         P8 every settlement equals the Python reference model: each settlement's inputs and credits
///            are written as a JSON line (POQ_CAMPAIGN_LOG) that tests/contract/test_forge.py replays
///            through `oracle.reward.settle`.
/// @dev Forge runs one campaign per `invariant_*` function and calls it after every action; a
///      per-call property broken inside an action is recorded by the handler (see
///      `PoQCampaign._violate`) and asserted here. `afterInvariant` ends every run with P5's final
///      settlement, and P1 and P4 over it.
abstract contract PoQInvariants is Cheats {
    /// @notice What forge's `targetSelectors()` returns.
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    /// @notice The handler every action goes through.
    PoQCampaign public handler;

    /// @notice The version adapter under attack.
    function _newHandler() internal virtual returns (PoQCampaign);

    function setUp() public {
        handler = _newHandler();
    }

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    function targetSelectors() public view returns (FuzzSelector[] memory targets) {
        targets = new FuzzSelector[](1);
        targets[0] = FuzzSelector(address(handler), handler.actions());
    }

    /*//////////////////////////////////////////////////////////////
                               INVARIANTS
    //////////////////////////////////////////////////////////////*/

    /// @notice P1
    function invariant_solvency() public view {
        (uint256 held, uint256 owed) = handler.accountedFor();
        assertEq(held, owed, "P1 solvency: PoQ's balance != stakes + withdrawable balances + unsettled budgets");
        assertEq(held, handler.gIn() - handler.gOut(), "P1 solvency: PoQ's balance != wei paid in - wei withdrawn");
        _unbroken(SOLVENCY, "P1 solvency");
    }

    /// @notice P2
    function invariant_noInferenceSlotHeldTwice() public view {
        _unbroken(INFERENCE_SEATS, "P2 no inference slot held twice");
        (uint256 badRound, string memory why) = handler.outputSeatCounts();
        assertTrue(badRound == 0, string.concat("P2 no inference slot held twice: ", why));
    }

    /// @notice P3
    function invariant_noCommitteeSeatHeldTwice() public view {
        _unbroken(COMMITTEE_SEATS, "P3 no committee seat held twice");
        (uint256 badRound, string memory why) = handler.committeeSeatCounts();
        assertTrue(badRound == 0, string.concat("P3 no committee seat held twice: ", why));
    }

    /// @notice P4
    function invariant_nobodyCreditedBeyondShare() public view {
        _unbroken(SHARES, "P4 nobody credited beyond their share");
    }

    /// @notice P5 (during the run; the end of the run is in `afterInvariant`)
    function invariant_everyRoundReachesSettled() public view {
        _unbroken(LIVENESS, "P5 every round reaches Settled");
    }

    /// @notice P6
    function invariant_underStakedEvaluatorNeverDrawn() public view {
        _unbroken(ELIGIBILITY, "P6 under-staked evaluator never drawn");
    }

    /// @notice P7
    function invariant_hostileCallsRefused() public view {
        _unbroken(HOSTILE, "P7 hostile calls refused");
    }

    /// @notice P5 at the end of every run: past every deadline, every round settles with the true
    ///         lists; P1 and P4 hold over that final settlement.
    /// @dev Only the properties the final settlement exercises are asserted here: forge reports an
    ///      `afterInvariant` failure under whichever invariant's campaign ran, so a P2, P3, P6 or P7
    ///      break is left to its own campaign (the final draws are P6-checked as they happen, and a
    ///      break there fails P6's next run).
    function afterInvariant() public virtual {
        uint256 solvency = handler.violations(SOLVENCY);
        uint256 shares = handler.violations(SHARES);
        uint256 stuck = handler.settleEverything();
        assertTrue(stuck == 0, string.concat("P5 every round reaches Settled: round ", _str(stuck), " cannot settle: ",
            handler.firstViolation(LIVENESS)));
        assertTrue(handler.violations(SOLVENCY) == solvency, string.concat("P1 solvency, in the final settlement: ",
            handler.firstViolation(SOLVENCY)));
        assertTrue(handler.violations(SHARES) == shares, string.concat("P4 nobody credited beyond their share, in the final settlement: ",
            handler.firstViolation(SHARES)));
        (uint256 held, uint256 owed) = handler.accountedFor();
        assertEq(held, owed, "P1 solvency after the final settlement: PoQ's balance != stakes + balances + unsettled budgets");
        assertEq(held, handler.gIn() - handler.gOut(), "P1 solvency after the final settlement: PoQ's balance != paid in - withdrawn");
    }

    function _unbroken(uint8 property, string memory name) internal view {
        if (handler.violations(property) != 0) {
            revert(string.concat(name, ": ", handler.firstViolation(property), " (broken ",
                _str(handler.violations(property)), " times)"));
        }
    }
}
