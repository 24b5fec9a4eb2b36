// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {PoQ} from "../PoQ.sol";

/// @title ReentrantReceiver (test only)
/// @notice A requester whose `receive` calls `PoQ.withdraw` again while its first
///         withdrawal is being paid, to show that re-entering pays nothing extra.
/// @dev With `bubble` set, the failed re-entry's revert propagates, so the outer
///      transfer fails too; otherwise it is swallowed and the outer withdrawal completes.
contract ReentrantReceiver {
    /// @notice The contract under attack.
    PoQ public immutable poq;

    /// @notice Whether `receive` propagates the failure of its re-entrant call.
    bool public immutable bubble;

    /// @notice How many times `receive` tried to re-enter.
    uint256 public reentries;

    /// @notice The revert data of the last re-entrant `withdraw` (its custom error).
    bytes public reentryError;

    constructor(PoQ poq_, bool bubble_) {
        poq = poq_;
        bubble = bubble_;
    }

    /// @notice Opens a round as the requester, so that its refund is owed to this contract.
    function openRound(PoQ.Task calldata task) external payable returns (uint256) {
        return poq.openRound{value: msg.value}(task);
    }

    /// @notice Withdraws what PoQ owes this contract.
    function attack() external {
        poq.withdraw();
    }

    receive() external payable {
        if (reentries > 0) return;
        reentries += 1;
        try poq.withdraw() {}
        catch (bytes memory reason) {
            reentryError = reason;
            if (bubble) {
                assembly {
                    revert(add(reason, 32), mload(reason))
                }
            }
        }
    }
}
