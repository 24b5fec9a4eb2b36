// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @notice The few forge cheatcodes the campaign and the attack tests use. forge-std is not available
///         offline (the npm copy is 2022's, without StdInvariant), and this is all they need of it.
interface Vm {
    function prank(address sender) external;
    function startPrank(address sender) external;
    function stopPrank() external;
    function deal(address account, uint256 newBalance) external;
    function roll(uint256 newHeight) external;
    function prevrandao(bytes32 newPrevrandao) external;
    function expectRevert(bytes4 revertData) external;
    function expectRevert(bytes calldata revertData) external;
    function expectRevert() external;
    function addr(uint256 privateKey) external pure returns (address);
    function label(address account, string calldata newLabel) external;
    function snapshotState() external returns (uint256 snapshotId);
    function revertToState(uint256 snapshotId) external returns (bool success);
    function revertToStateAndDelete(uint256 snapshotId) external returns (bool success);
    function deployCode(string calldata artifactPath, bytes calldata constructorArgs) external returns (address deployed);
    function assume(bool condition) external pure;
    function envOr(string calldata name, uint256 defaultValue) external view returns (uint256 value);
    // The adversarial campaign (tests/forge/invariant/): events of a settlement, its JSON line for
    // the Python reference model, and the block number as the EVM sees it (via-IR may cache `block.number`).
    struct Log {
        bytes32[] topics;
        bytes data;
        address emitter;
    }
    function recordLogs() external;
    function getRecordedLogs() external returns (Log[] memory logs);
    function writeLine(string calldata path, string calldata data) external;
    function envOr(string calldata name, string calldata defaultValue) external view returns (string memory value);
    function toString(address value) external pure returns (string memory);
    function toString(uint256 value) external pure returns (string memory);
    function getBlockNumber() external view returns (uint256 height);
}

/// @notice The cheatcode address (`address(uint160(uint256(keccak256("hevm cheat code"))))`) and assertions.
abstract contract Cheats {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    function assertTrue(bool condition, string memory message) internal pure {
        require(condition, message);
    }

    function assertEq(uint256 a, uint256 b, string memory message) internal pure {
        if (a != b) revert(string.concat(message, ": ", _str(a), " != ", _str(b)));
    }

    function _str(uint256 x) internal pure returns (string memory) {
        if (x == 0) return "0";
        bytes memory buf = new bytes(78);
        uint256 len;
        while (x != 0) {
            buf[77 - len++] = bytes1(uint8(48 + x % 10));
            x /= 10;
        }
        bytes memory out = new bytes(len);
        for (uint256 i; i < len; ++i) {
            out[i] = buf[78 - len + i];
        }
        return string(out);
    }
}
