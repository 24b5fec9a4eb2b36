// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title Sorted: ascending address lists, as `settle` takes them and as sets are compared
/// @notice The one sort the forge tests share (the hole tests' adapters, their set comparison, and
///         the campaign's settlement lists). Insertion sort: every list here is a round's nodes.
library Sorted {
    /// @notice The first `n` entries of `xs`, ascending, as a new array of length `n`.
    function addresses(address[] memory xs, uint256 n) internal pure returns (address[] memory out) {
        out = new address[](n);
        for (uint256 i; i < n; ++i) {
            address x = xs[i];
            uint256 j = i;
            while (j > 0 && out[j - 1] > x) {
                out[j] = out[j - 1];
                --j;
            }
            out[j] = x;
        }
    }

    /// @notice All of `xs`, ascending, as a new array.
    function addresses(address[] memory xs) internal pure returns (address[] memory) {
        return addresses(xs, xs.length);
    }
}
