// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @notice What the hole tests do to a PoQ contract, in terms both versions share. Two adapters
///         implement it: `V2Rounds` over contracts/PoQ.sol and `V1Rounds` over the contract of dff63f8
///         (tests/forge/vendor/poq-v1/PoQV1.sol). Each adapter deploys and owns its contract and acts for
///         any actor with `vm.prank`, so a test names who acts and the adapter makes the call.
/// @dev Every action returns whether the contract accepted it (a revert is `false`, never a revert
///      of the test), so a test can state an attack as "this call must not succeed" or "this
///      honest call must still succeed". Outputs, references and costs are fixed by the adapter;
///      a committee member gives one score to every revealed output (the adapter lays the score
///      list out in the order its contract wants: reveal order for v1, address order for v2).
interface IRounds {
    // ------------------------------ governance (the adapter is the owner) ------------------------------

    /// @notice The address of the adapted PoQ contract.
    function target() external view returns (address);

    /// @notice The parameter version new rounds open with.
    function paramsVersion() external view returns (uint32);

    /// @notice A new parameter version: the current one with `minStake` changed (and the slash
    ///         lowered to it if it would exceed it).
    function setMinStake(uint256 minStake) external returns (bool ok);

    /// @notice A new parameter version: the current one with every stage window set to `window`
    ///         and the unbonding delay to `unbonding`.
    function setWindows(uint32 window, uint32 unbonding) external returns (bool ok);

    /// @notice The owner renounces ownership.
    function renounceOwnership() external returns (bool ok);

    /// @notice The contract's owner (who slashes are credited to).
    function owner() external view returns (address);

    // ------------------------------ nodes ------------------------------

    /// @notice `node` registers as an evaluator (or an inference node) with `stake` wei.
    function register(address node, bool evaluator, uint256 stake) external returns (bool ok);

    /// @notice `node` starts leaving.
    function requestExit(address node) external returns (bool ok);

    /// @notice Wei at stake of `node`.
    function stakeOf(address node) external view returns (uint256);

    /// @notice Wei `account` may withdraw.
    function balanceOf(address account) external view returns (uint256);

    // ------------------------------ rounds ------------------------------

    /// @notice `requester` opens a round of `slots` outputs and `committeeSize` evaluators with `budget` wei,
    ///         under the parameter version it read (`agreedVersion`; v1 has no such argument and ignores it),
    ///         with a reference committed under `referenceSalt` (zero: no reference).
    function open(
        address requester,
        uint8 slots,
        uint8 committeeSize,
        uint256 budget,
        bytes32 referenceSalt,
        uint32 agreedVersion
    ) external returns (bool ok, uint256 roundId);

    /// @notice `node` commits to the adapter's output under `salt`.
    function commitOutput(address node, uint256 roundId, bytes32 salt) external returns (bool ok);

    /// @notice `node` commits `commitment` as is (e.g. zero).
    function commitOutputRaw(address node, uint256 roundId, bytes32 commitment) external returns (bool ok);

    /// @notice `node` reveals the output it committed under `salt`.
    function revealOutput(address node, uint256 roundId, bytes32 salt) external returns (bool ok);

    /// @notice The requester reveals the reference it committed at open.
    function revealReference(uint256 roundId) external returns (bool ok);

    /// @notice `member` commits to the score `score` for every revealed output under `salt`.
    function commitScores(address member, uint256 roundId, uint64 score, bytes32 salt) external returns (bool ok);

    /// @notice `member` commits `commitment` as is (e.g. zero).
    function commitScoresRaw(address member, uint256 roundId, bytes32 commitment) external returns (bool ok);

    /// @notice `member` reveals the scores it committed under `salt`.
    function revealScores(address member, uint256 roundId, uint64 score, bytes32 salt) external returns (bool ok);

    /// @notice `caller` pushes the round past every passed deadline.
    function advance(address caller, uint256 roundId) external returns (bool ok);

    /// @notice Settles the round (the v2 adapter builds `Settlement` from what it tracked).
    function settle(uint256 roundId) external returns (bool ok);

    /// @notice The round's stored stage (both versions number stages alike: 1 Commit ... 6 Settleable, 7 Settled).
    function stage(uint256 roundId) external view returns (uint8);

    /// @notice Last block of the round's current stage.
    function deadline(uint256 roundId) external view returns (uint256);

    /// @notice The parameter version the round reads.
    function roundParamsVersion(uint256 roundId) external view returns (uint32);

    /// @notice Whether `evaluator` was drawn for the round.
    function isMember(uint256 roundId, address evaluator) external view returns (bool);

    /// @notice The round's drawn committee (any order; empty before the draw).
    function committee(uint256 roundId) external view returns (address[] memory);

    /// @notice The round's inference pool (budget * inferenceShare / WAD) and evaluator pool.
    function pools(uint256 roundId) external view returns (uint256 inferencePool, uint256 evaluatorPool);
}
