// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title ReentrantRequester (campaign actor)
/// @notice A requester contract the campaign acts through: it forwards any call to PoQ (so it opens
///         rounds and is owed their refunds), and its `receive` re-enters `withdraw()` on every
///         payment. ABI-agnostic, so the same actor attacks v1 and v2.
/// @dev With `bubble` set, `receive` reverts after its re-entry, so every withdrawal to it fails and
///      its balance stays owed (a receiver that rejects payment). `reentrySuccesses` must stay 0.
contract ReentrantRequester {
    /// @notice The contract under attack.
    address public immutable poq;

    /// @notice Whether `receive` reverts (rejecting the payment) after trying to re-enter.
    bool public immutable bubble;

    /// @notice The campaign handler, the only caller of `exec`.
    address public immutable handler;

    /// @notice Times `receive` tried to re-enter `withdraw`.
    uint256 public reentries;

    /// @notice Times a re-entrant `withdraw` went through (a double payment).
    uint256 public reentrySuccesses;

    /// @notice Thrown by `receive` in bubbling mode, after the re-entry attempt.
    error PaymentRejected();

    constructor(address poq_, bool bubble_) {
        poq = poq_;
        bubble = bubble_;
        handler = msg.sender;
    }

    /// @notice Calls PoQ with `data` and `msg.value`; a revert propagates with PoQ's revert data.
    function exec(bytes calldata data) external payable returns (bytes memory ret) {
        require(msg.sender == handler, "only the handler");
        bool ok;
        (ok, ret) = poq.call{value: msg.value}(data);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(ret, 32), mload(ret))
            }
        }
    }

    receive() external payable {
        if (msg.sender != poq) return;
        reentries += 1;
        (bool ok,) = poq.call(abi.encodeWithSignature("withdraw()"));
        if (ok) reentrySuccesses += 1;
        if (bubble) revert PaymentRejected();
    }
}
