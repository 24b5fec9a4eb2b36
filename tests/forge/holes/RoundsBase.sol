// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Vm} from "../Vm.sol";
import {IPoQCommon} from "../IPoQCommon.sol";
import {PoQ} from "../../../contracts/PoQ.sol";
import {RewardMath} from "../../../contracts/RewardMath.sol";

/// @notice What the hole tests do to a PoQ contract, written once for both versions. Two adapters
///         derive from it: `V2Rounds` over contracts/PoQ.sol and `V1Rounds` over the contract of dff63f8
///         (tests/forge/vendor/poq-v1/PoQV1.sol). The adapter deploys and owns its contract and acts for
///         any actor with `vm.prank`, so a test names who acts and the adapter makes the call.
/// @dev Every action returns whether the contract accepted it (a revert is `false`, never a revert
///      of the test), so a test can state an attack as "this call must not succeed" or "this
///      honest call must still succeed". Outputs, references and costs are fixed here; a committee
///      member gives one score to every revealed output. Every call is a low-level call: the calls
///      both versions share are encoded once (`IPoQCommon`), and an adapter encodes only those whose
///      ABI differs (the hooks at the bottom: parameters, Task, reference reveal, settle, the round
///      view) and the node views its contract lays out its own way. Solidity has no generics, so the
///      version-typed pieces cannot be shared; everything else is here.
abstract contract RoundsBase {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    string internal constant OUTPUT = "Paris is the capital of France.";
    string internal constant REFERENCE = "Paris";
    bytes32 internal constant TASK_HASH = keccak256("What is the capital of France?");

    // The parameter set both versions start with (the same numbers in both).
    uint64 internal constant ALPHA = 0.8e18;
    uint64 internal constant BETA = 0.2e18;
    uint64 internal constant INFERENCE_SHARE = 0.7e18;
    uint96 internal constant MIN_STAKE = 1 ether;
    uint96 internal constant SLASH = 1 ether;
    uint96 internal constant MIN_BUDGET = 0.01 ether;
    uint32 internal constant WINDOW = 20;
    uint32 internal constant UNBONDING = 50;

    /// @notice A round as both versions store it, as far as the views need it.
    struct RoundInfo {
        uint8 stage;
        uint256 deadline;
        uint32 paramsVersion;
        uint256 reveals;
        uint256 inferencePool;
        uint256 evaluatorPool;
    }

    /// @dev The adapted contract.
    address internal _target;

    /// @dev The parameters in force, in v2's layout (`V1Rounds` maps them to its own). The adapter is
    ///      the owner and the only caller of `setParams`, so it keeps them instead of reading them back.
    PoQ.Params internal _params;

    /// @dev Inference nodes and evaluators registered through the adapter, in registration order.
    address[] internal _inference;
    address[] internal _evaluators;

    /// @dev Who opened each round and the salt of its reference (zero: none).
    mapping(uint256 => address) internal _requester;
    mapping(uint256 => bytes32) internal _referenceSalt;

    /// @dev The score each member revealed (one per output): v2's scorecard at settle.
    mapping(uint256 => mapping(address => uint64)) internal _revealedScore;

    constructor() {
        _params = _initialParams();
        _target = _deploy(_params);
    }

    /// @notice The address of the adapted PoQ contract.
    function target() public view returns (address) {
        return _target;
    }

    // ------------------------------ governance (the adapter is the owner) ------------------------------

    /// @notice The parameter version new rounds open with.
    function paramsVersion() external view returns (uint32) {
        return IPoQCommon(_target).paramsVersion();
    }

    /// @notice A new parameter version: the current one with `minStake` changed (and the slash
    ///         lowered to it if it would exceed it).
    function setMinStake(uint256 minStake) external returns (bool) {
        PoQ.Params memory p = _params;
        p.minStake = uint96(minStake);
        if (p.slashAmount > p.minStake) p.slashAmount = p.minStake;
        return _setParams(p);
    }

    /// @notice A new parameter version: the current one with every stage window set to `window`
    ///         and the unbonding delay to `unbonding`.
    function setWindows(uint32 window, uint32 unbonding) external returns (bool) {
        PoQ.Params memory p = _params;
        p.commitWindow = window;
        p.revealWindow = window;
        p.referenceWindow = window;
        p.scoreCommitWindow = window;
        p.scoreRevealWindow = window;
        p.unbondingBlocks = unbonding;
        return _setParams(p);
    }

    /// @notice The owner renounces ownership.
    function renounceOwnership() external returns (bool ok) {
        (ok,) = _target.call(abi.encodeCall(IPoQCommon.renounceOwnership, ()));
    }

    /// @notice The contract's owner (who slashes are credited to).
    function owner() external view returns (address) {
        return IPoQCommon(_target).owner();
    }

    // ------------------------------ nodes ------------------------------

    /// @notice `node` registers as an evaluator (or an inference node) with `stake` wei.
    function register(address node, bool evaluator, uint256 stake) external returns (bool ok) {
        uint8 role = uint8(evaluator ? PoQ.Role.Evaluator : PoQ.Role.Inference);
        (ok,) = _as(node, stake, abi.encodeCall(IPoQCommon.register, (role)));
        if (ok && evaluator) _evaluators.push(node);
        else if (ok) _inference.push(node);
    }

    /// @notice `node` starts leaving.
    function requestExit(address node) external returns (bool ok) {
        (ok,) = _as(node, 0, abi.encodeCall(IPoQCommon.requestExit, ()));
    }

    /// @notice Wei at stake of `node`.
    function stakeOf(address node) external view virtual returns (uint256);

    /// @notice Wei `account` may withdraw.
    function balanceOf(address account) external view returns (uint256) {
        return IPoQCommon(_target).balances(account);
    }

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
    ) external returns (bool ok, uint256 roundId) {
        PoQ.Task memory task = PoQ.Task({
            taskHash: TASK_HASH,
            uri: "data:,What is the capital of France?",
            kind: "qa",
            slots: slots,
            committeeSize: committeeSize,
            referenceCommitment: referenceSalt == bytes32(0)
                ? bytes32(0)
                : _referenceCommitment(requester, referenceSalt),
            paramsVersion: agreedVersion
        });
        bytes memory ret;
        (ok, ret) = _as(requester, budget, _openRoundCall(task));
        if (!ok) return (false, 0);
        roundId = abi.decode(ret, (uint256));
        _requester[roundId] = requester;
        _referenceSalt[roundId] = referenceSalt;
    }

    /// @notice `node` commits to the adapter's output under `salt`.
    function commitOutput(address node, uint256 roundId, bytes32 salt) external returns (bool) {
        return _commitOutput(node, roundId, _outputCommitment(roundId, node, salt));
    }

    /// @notice `node` commits `commitment` as is (e.g. zero).
    function commitOutputRaw(address node, uint256 roundId, bytes32 commitment) external returns (bool) {
        return _commitOutput(node, roundId, commitment);
    }

    /// @notice `node` reveals the output it committed under `salt`.
    function revealOutput(address node, uint256 roundId, bytes32 salt) external returns (bool ok) {
        (ok,) = _as(node, 0, abi.encodeCall(IPoQCommon.revealOutput, (roundId, OUTPUT, _inferenceCost(), salt)));
    }

    /// @notice The requester reveals the reference it committed at open.
    function revealReference(uint256 roundId) external returns (bool ok) {
        (ok,) = _as(_requester[roundId], 0, _revealReferenceCall(roundId));
    }

    /// @notice `member` commits to the score `score` for every revealed output under `salt`.
    function commitScores(address member, uint256 roundId, uint64 score, bytes32 salt) external returns (bool) {
        uint64[] memory scores = _uniform(_round(roundId).reveals, score);
        return _commitScores(member, roundId, _scoresCommitment(roundId, member, scores, salt));
    }

    /// @notice `member` commits `commitment` as is (e.g. zero).
    function commitScoresRaw(address member, uint256 roundId, bytes32 commitment) external returns (bool) {
        return _commitScores(member, roundId, commitment);
    }

    /// @notice `member` reveals the scores it committed under `salt`.
    function revealScores(address member, uint256 roundId, uint64 score, bytes32 salt) external returns (bool ok) {
        uint64[] memory scores = _uniform(_round(roundId).reveals, score);
        (ok,) = _as(member, 0, abi.encodeCall(IPoQCommon.revealScores, (roundId, scores, _evaluatorCost(), salt)));
        if (ok) _revealedScore[roundId][member] = score;
    }

    /// @notice `caller` pushes the round past every passed deadline.
    function advance(address caller, uint256 roundId) external returns (bool ok) {
        (ok,) = _as(caller, 0, abi.encodeCall(IPoQCommon.advance, (roundId)));
    }

    /// @notice Settles the round (the v2 adapter builds `Settlement` from what it tracked).
    function settle(uint256 roundId) external returns (bool ok) {
        (ok,) = _target.call(_settleCall(roundId));
    }

    /// @notice The round's stored stage (both versions number stages alike: 1 Commit ... 6 Settleable, 7 Settled).
    function stage(uint256 roundId) external view returns (uint8) {
        return _round(roundId).stage;
    }

    /// @notice Last block of the round's current stage.
    function deadline(uint256 roundId) external view returns (uint256) {
        return _round(roundId).deadline;
    }

    /// @notice The parameter version the round reads.
    function roundParamsVersion(uint256 roundId) external view returns (uint32) {
        return _round(roundId).paramsVersion;
    }

    /// @notice Whether `evaluator` was drawn for the round.
    function isMember(uint256 roundId, address evaluator) public view virtual returns (bool);

    /// @notice The round's drawn committee (any order; empty before the draw).
    function committee(uint256 roundId) external view virtual returns (address[] memory);

    /// @notice The round's inference pool (budget * inferenceShare / WAD) and evaluator pool.
    function pools(uint256 roundId) external view returns (uint256 inferencePool, uint256 evaluatorPool) {
        RoundInfo memory r = _round(roundId);
        return (r.inferencePool, r.evaluatorPool);
    }

    // ------------------------------ fixed inputs and commitments ------------------------------

    /// @dev The parameters both versions start with, in v2's layout.
    function _initialParams() internal pure returns (PoQ.Params memory) {
        return PoQ.Params({
            alphaInference: ALPHA,
            betaInference: BETA,
            alphaEvaluator: ALPHA,
            betaEvaluator: BETA,
            inferenceShare: INFERENCE_SHARE,
            minStake: MIN_STAKE,
            minBudget: MIN_BUDGET,
            commitWindow: WINDOW,
            revealWindow: WINDOW,
            referenceWindow: WINDOW,
            scoreCommitWindow: WINDOW,
            scoreRevealWindow: WINDOW,
            unbondingBlocks: UNBONDING,
            aggregation: PoQ.Aggregation.Mean,
            slashAmount: SLASH,
            inferenceCost: _costModel(),
            evaluatorCost: _costModel()
        });
    }

    function _inferenceCost() internal pure returns (RewardMath.Cost memory) {
        return RewardMath.Cost({latencyMs: 2_000, tokens: 200, memoryMb: 4_000});
    }

    function _evaluatorCost() internal pure returns (RewardMath.Cost memory) {
        return RewardMath.Cost({latencyMs: 1_000, tokens: 100, memoryMb: 2_000});
    }

    function _costModel() internal pure returns (RewardMath.CostModel memory) {
        return RewardMath.CostModel({
            wLatency: 0.5e18,
            wTokens: 0.3e18,
            wMemory: 0.2e18,
            refLatencyMs: 10_000,
            refTokens: 1_000,
            refMemoryMb: 16_000
        });
    }

    /// @dev The commitment preimages are identical in both versions.
    function _outputCommitment(uint256 roundId, address node, bytes32 salt) internal view returns (bytes32) {
        return
            keccak256(
                abi.encode(block.chainid, _target, roundId, node, keccak256(bytes(OUTPUT)), _inferenceCost(), salt)
            );
    }

    function _referenceCommitment(address requester, bytes32 salt) internal view returns (bytes32) {
        return keccak256(abi.encode(block.chainid, _target, requester, TASK_HASH, keccak256(bytes(REFERENCE)), salt));
    }

    function _scoresCommitment(uint256 roundId, address member, uint64[] memory scores, bytes32 salt)
        internal
        view
        returns (bytes32)
    {
        return keccak256(
            abi.encode(block.chainid, _target, roundId, member, keccak256(abi.encode(scores)), _evaluatorCost(), salt)
        );
    }

    /// @dev One score per revealed output, all `score`.
    function _uniform(uint256 outputs, uint64 score) internal pure returns (uint64[] memory scores) {
        scores = new uint64[](outputs);
        for (uint256 i; i < outputs; ++i) {
            scores[i] = score;
        }
    }

    // ------------------------------ calls ------------------------------

    /// @dev `sender` (given the `value` it sends first) calls the contract with `data`.
    function _as(address sender, uint256 value, bytes memory data) internal returns (bool ok, bytes memory ret) {
        vm.deal(sender, sender.balance + value);
        vm.prank(sender);
        (ok, ret) = _target.call{value: value}(data);
    }

    /// @dev `setParams` as the owner; on success `p` is the parameter set in force.
    function _setParams(PoQ.Params memory p) internal returns (bool ok) {
        (ok,) = _target.call(_setParamsCall(p));
        if (ok) _params = p;
    }

    function _commitOutput(address node, uint256 roundId, bytes32 commitment) internal returns (bool ok) {
        (ok,) = _as(node, 0, abi.encodeCall(IPoQCommon.commitOutput, (roundId, commitment)));
    }

    function _commitScores(address member, uint256 roundId, bytes32 commitment) internal returns (bool ok) {
        (ok,) = _as(member, 0, abi.encodeCall(IPoQCommon.commitScores, (roundId, commitment)));
    }

    // ------------------------------ hooks: where the two versions' ABIs differ ------------------------------

    /// @dev Deploys the contract with `p` as its first parameter version (this adapter is its owner).
    ///      From its artifact (not `new`), so the via-IR build does not compile it again inside every
    ///      contract that creates it.
    function _deploy(PoQ.Params memory p) internal virtual returns (address);

    /// @dev `setParams` calldata for `p`.
    function _setParamsCall(PoQ.Params memory p) internal pure virtual returns (bytes memory);

    /// @dev `openRound` calldata for `task` (v1's Task has no parameter version).
    function _openRoundCall(PoQ.Task memory task) internal pure virtual returns (bytes memory);

    /// @dev `revealReference` calldata: `REFERENCE` under the round's salt (v2's also carries the task hash).
    function _revealReferenceCall(uint256 roundId) internal view virtual returns (bytes memory);

    /// @dev `settle` calldata (v2's carries the round's lists).
    function _settleCall(uint256 roundId) internal view virtual returns (bytes memory);

    /// @dev The round as stored.
    function _round(uint256 roundId) internal view virtual returns (RoundInfo memory);
}
