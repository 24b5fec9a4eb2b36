// SPDX-License-Identifier: MIT
// The PoQ contract of main at dff63f8 (`git show dff63f8:contracts/PoQ.sol`), renamed PoQV1 with its
// RewardMath renamed RewardMathV1 so both versions compile side by side. Nothing else is changed:
// the adversarial campaign runs against it to show that it finds the holes v2 closes.
pragma solidity 0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {RewardMathV1} from "./RewardMathV1.sol";

/// @title PoQ: cost-aware Proof of Quality rounds for decentralized LLM inference
/// @notice A requester opens a round with a task and a budget. Registered inference
///         nodes commit, then reveal, an output and a cost attestation; a committee of
///         evaluators drawn from the chain commits, then reveals, one score per output
///         and its own cost; `settle` pays `R = alpha * quality - beta * cost` to both
///         kinds of node, slashes those who committed and never revealed, and refunds
///         the rest, so that payouts plus refund equal the budget to the wei.
/// @dev Phases end at their deadline (in blocks) or as soon as everyone expected has
///      acted. The stored stage moves forward only in `_advance`, which every
///      round-touching call runs first. Payments are pulled with `withdraw`.
contract PoQV1 is Ownable, ReentrancyGuard {
    using RewardMathV1 for uint256[];

    /*//////////////////////////////////////////////////////////////
                                   ENUMS
    //////////////////////////////////////////////////////////////*/

    /// @notice The role a node registered for; an address holds one role.
    enum Role {
        None,
        Inference,
        Evaluator
    }

    /// @notice How the committee's scores of one output become its quality.
    enum Aggregation {
        Mean,
        Median
    }

    /// @notice The stage of a round, in the order a round goes through them.
    enum Stage {
        None,
        Commit,
        Reveal,
        Reference,
        ScoreCommit,
        ScoreReveal,
        Settleable,
        Settled
    }

    /*//////////////////////////////////////////////////////////////
                                  STRUCTS
    //////////////////////////////////////////////////////////////*/

    /// @notice Owner-set protocol parameters. Rounds keep the version they opened with.
    struct Params {
        uint64 alphaInference;
        uint64 betaInference;
        uint64 alphaEvaluator;
        uint64 betaEvaluator;
        uint64 inferenceShare;
        RewardMathV1.CostModel inferenceCost;
        RewardMathV1.CostModel evaluatorCost;
        uint32 commitWindow;
        uint32 revealWindow;
        uint32 referenceWindow;
        uint32 scoreCommitWindow;
        uint32 scoreRevealWindow;
        uint32 unbondingBlocks;
        uint128 minStake;
        uint128 slashAmount;
        Aggregation aggregation;
    }

    /// @notice What a requester asks for when opening a round.
    /// @param taskHash keccak256 of the task's canonical content
    /// @param uri where the task can be read (a `data:` URI carries the prompt in the event)
    /// @param kind the task kind, e.g. "qa" or "summarization"
    /// @param slots number of inference nodes paid, n
    /// @param committeeSize number of evaluators drawn, K
    /// @param referenceCommitment commitment to the reference answer, or zero for none
    struct Task {
        bytes32 taskHash;
        string uri;
        string kind;
        uint8 slots;
        uint8 committeeSize;
        bytes32 referenceCommitment;
    }

    /// @notice A registered node.
    struct Node {
        Role role;
        uint32 pendingRounds;
        uint64 exitableAt;
        uint128 stake;
    }

    /// @notice A round's state.
    struct Round {
        address requester;
        Stage stage;
        uint8 slots;
        uint8 committeeSize;
        uint8 commits;
        uint8 reveals;
        uint8 scoreCommits;
        uint8 scoreReveals;
        bool referenceRevealed;
        uint32 paramsVersion;
        uint64 deadline;
        uint128 inferencePool;
        uint128 evaluatorPool;
        bytes32 taskHash;
        bytes32 referenceCommitment;
    }

    /// @notice An inference node's entry in a round.
    struct Submission {
        bytes32 commitment;
        bytes32 outputHash;
        uint64 cost;
        bool revealed;
    }

    /// @notice An evaluator's entry in a round.
    struct Evaluation {
        bytes32 commitment;
        uint64 cost;
        bool member;
        bool revealed;
        uint64[] scores;
    }

    /*//////////////////////////////////////////////////////////////
                                 CONSTANTS
    //////////////////////////////////////////////////////////////*/

    /// @notice Fixed-point one.
    uint256 public constant WAD = 1e18;

    /// @notice Most inference slots a round may ask for (bounds settle's loops).
    uint256 public constant MAX_SLOTS = 64;

    /// @notice Largest committee a round may ask for (bounds settle's loops).
    uint256 public constant MAX_COMMITTEE = 16;

    /*//////////////////////////////////////////////////////////////
                                  STORAGE
    //////////////////////////////////////////////////////////////*/

    /// @notice Every parameter set ever in force, by version.
    mapping(uint32 => Params) internal _params;

    /// @notice The version new rounds open with.
    uint32 public paramsVersion;

    /// @notice The id the next round gets; ids start at 1.
    uint256 public nextRoundId = 1;

    /// @notice Registered nodes by address.
    mapping(address => Node) public nodes;

    /// @notice Active evaluators, the pool committees are drawn from.
    address[] internal _evaluatorSet;

    /// @notice Position + 1 of an evaluator in `_evaluatorSet` (0 = absent).
    mapping(address => uint256) internal _evaluatorIndex;

    /// @notice Rounds by id.
    mapping(uint256 => Round) internal _rounds;

    /// @notice Inference nodes that committed, in commit order.
    mapping(uint256 => address[]) internal _committers;

    /// @notice Inference nodes that revealed, in reveal order: the index of every score.
    mapping(uint256 => address[]) internal _revealed;

    /// @notice The committee drawn for a round.
    mapping(uint256 => address[]) internal _committee;

    /// @notice Inference entries by round and node.
    mapping(uint256 => mapping(address => Submission)) public submissions;

    /// @notice Evaluator entries by round and evaluator.
    mapping(uint256 => mapping(address => Evaluation)) internal _evaluations;

    /// @notice Wei each account may withdraw.
    mapping(address => uint256) public balances;

    /*//////////////////////////////////////////////////////////////
                                   EVENTS
    //////////////////////////////////////////////////////////////*/

    /// @notice Emitted when the owner puts a new parameter set in force.
    event ParamsUpdated(uint32 indexed version);

    /// @notice Emitted when a node registers with a stake.
    event NodeRegistered(address indexed node, Role role, uint256 stake);

    /// @notice Emitted when a node adds to its stake.
    event StakeAdded(address indexed node, uint256 amount, uint256 stake);

    /// @notice Emitted when a node starts leaving; its stake is released at `exitableAt`.
    event ExitRequested(address indexed node, uint64 exitableAt);

    /// @notice Emitted when a node has left and its stake is credited for withdrawal.
    event ExitCompleted(address indexed node, uint256 stake);

    /// @notice Emitted when a round opens; `uri` carries or locates the task.
    event RoundOpened(
        uint256 indexed roundId,
        address indexed requester,
        bytes32 taskHash,
        string kind,
        string uri,
        uint8 slots,
        uint8 committeeSize,
        bytes32 referenceCommitment,
        uint256 inferencePool,
        uint256 evaluatorPool,
        uint32 paramsVersion
    );

    /// @notice Emitted when a round enters a new stage; `deadline` is its last block.
    event StageChanged(uint256 indexed roundId, Stage stage, uint64 deadline);

    /// @notice Emitted when an inference node commits to an output.
    event OutputCommitted(uint256 indexed roundId, address indexed node, bytes32 commitment);

    /// @notice Emitted when an inference node reveals; `index` is the output's position in every score list.
    event OutputRevealed(
        uint256 indexed roundId,
        address indexed node,
        uint256 index,
        string output,
        RewardMathV1.Cost cost,
        uint64 normalisedCost
    );

    /// @notice Emitted when the requester reveals the task's reference answer.
    event ReferenceRevealed(uint256 indexed roundId, string referenceAnswer);

    /// @notice Emitted when the committee is drawn from the evaluator set.
    event CommitteeDrawn(uint256 indexed roundId, address[] members, bytes32 seed);

    /// @notice Emitted when a committee member commits to its scores.
    event ScoresCommitted(uint256 indexed roundId, address indexed evaluator, bytes32 commitment);

    /// @notice Emitted when a committee member reveals one WAD score per revealed output.
    event ScoresRevealed(
        uint256 indexed roundId,
        address indexed evaluator,
        uint64[] scores,
        RewardMathV1.Cost cost,
        uint64 normalisedCost
    );

    /// @notice Emitted at settlement for every inference node that revealed.
    event InferencePaid(
        uint256 indexed roundId, address indexed node, uint256 quality, uint256 cost, uint256 reward, uint256 amount
    );

    /// @notice Emitted at settlement for every committee member that revealed.
    event EvaluatorPaid(
        uint256 indexed roundId,
        address indexed evaluator,
        uint256 agreement,
        uint256 cost,
        uint256 reward,
        uint256 amount
    );

    /// @notice Emitted when a node that committed and never revealed loses stake to the owner.
    event Slashed(uint256 indexed roundId, address indexed node, uint256 amount);

    /// @notice Emitted once per round: what was paid to nodes and what went back to the requester.
    event RoundSettled(uint256 indexed roundId, uint256 paid, uint256 refund);

    /// @notice Emitted when an account withdraws what it is owed.
    event Withdrawn(address indexed account, uint256 amount);

    /*//////////////////////////////////////////////////////////////
                                   ERRORS
    //////////////////////////////////////////////////////////////*/

    /// @notice Thrown when a call needs round `roundId` in stage `expected` but it is in `actual`.
    error WrongStage(uint256 roundId, Stage expected, Stage actual);

    /// @notice Thrown when no round has id `roundId`.
    error RoundNotFound(uint256 roundId);

    /// @notice Thrown by `register()` if the caller is already registered.
    error AlreadyRegistered(address node);

    /// @notice Thrown by `register()` for `Role.None`.
    error InvalidRole();

    /// @notice Thrown when a call needs the caller registered as `role` and it is not.
    error NotRegisteredAs(address node, Role role);

    /// @notice Thrown when a stake of `stake` is below the `required` minimum.
    error StakeTooLow(uint256 stake, uint256 required);

    /// @notice Thrown when a node that asked to exit tries to take part in a round.
    error NodeExiting(address node);

    /// @notice Thrown by `completeExit()` before the unbonding delay or while rounds are pending.
    error ExitNotReady(uint64 exitableAt, uint32 pendingRounds);

    /// @notice Thrown by `openRound()` with no budget.
    error ZeroBudget();

    /// @notice Thrown by `openRound()` for a slot count outside `[1, MAX_SLOTS]`.
    error InvalidSlots(uint256 slots);

    /// @notice Thrown by `openRound()` for a committee size of zero, above MAX_COMMITTEE, or above the `available` evaluators.
    error InvalidCommitteeSize(uint256 committeeSize, uint256 available);

    /// @notice Thrown when a node commits twice to the same round.
    error AlreadyCommitted(uint256 roundId, address node);

    /// @notice Thrown when a node reveals without having committed.
    error NotCommitted(uint256 roundId, address node);

    /// @notice Thrown when a node reveals twice.
    error AlreadyRevealed(uint256 roundId, address node);

    /// @notice Thrown when revealed data does not hash to the commitment.
    error CommitmentMismatch(uint256 roundId, address node);

    /// @notice Thrown when someone other than the round's requester acts for it.
    error NotRequester(uint256 roundId, address caller);

    /// @notice Thrown when the round was opened without a reference commitment.
    error NoReference(uint256 roundId);

    /// @notice Thrown when an evaluator outside the round's committee tries to score.
    error NotInCommittee(uint256 roundId, address evaluator);

    /// @notice Thrown when a revealed score list has `actual` entries for `expected` outputs.
    error ScoreCountMismatch(uint256 expected, uint256 actual);

    /// @notice Thrown when score `index` is `score`, above WAD (1e18).
    error ScoreOutOfRange(uint256 index, uint256 score);

    /// @notice Thrown by `withdraw()` when the caller is owed nothing.
    error NothingToWithdraw(address account);

    /// @notice Thrown by `withdraw()` when the receiver rejects the transfer.
    error TransferFailed(address account, uint256 amount);

    /// @notice Thrown by `setParams()` when a WAD-scaled parameter `name` is `value`, above WAD.
    error ParamAboveWad(string name, uint256 value);

    /// @notice Thrown by `setParams()` when cost weights `name` sum to `sum`, not WAD.
    error WeightsNotWad(string name, uint256 sum);

    /// @notice Thrown by `setParams()` when a cost reference or phase window `name` is zero.
    error ZeroParam(string name);

    /// @notice Thrown by `setParams()` when the slash `slashAmount` exceeds the minimum stake `minStake`.
    error SlashAboveMinStake(uint256 slashAmount, uint256 minStake);

    /*//////////////////////////////////////////////////////////////
                                CONSTRUCTOR
    //////////////////////////////////////////////////////////////*/

    /// @param initial the first parameter set (version 1)
    constructor(Params memory initial) Ownable(msg.sender) {
        _setParams(initial);
    }

    /*//////////////////////////////////////////////////////////////
                             INTERNAL FUNCTIONS
    //////////////////////////////////////////////////////////////*/

    function _setParams(Params memory p) internal {
        _checkWad("alphaInference", p.alphaInference);
        _checkWad("betaInference", p.betaInference);
        _checkWad("alphaEvaluator", p.alphaEvaluator);
        _checkWad("betaEvaluator", p.betaEvaluator);
        _checkWad("inferenceShare", p.inferenceShare);
        _checkCostModel("inferenceCost", p.inferenceCost);
        _checkCostModel("evaluatorCost", p.evaluatorCost);
        if (p.commitWindow == 0) revert ZeroParam("commitWindow");
        if (p.revealWindow == 0) revert ZeroParam("revealWindow");
        if (p.referenceWindow == 0) revert ZeroParam("referenceWindow");
        if (p.scoreCommitWindow == 0) revert ZeroParam("scoreCommitWindow");
        if (p.scoreRevealWindow == 0) revert ZeroParam("scoreRevealWindow");
        if (p.minStake == 0) revert ZeroParam("minStake");
        if (p.slashAmount > p.minStake) revert SlashAboveMinStake(p.slashAmount, p.minStake);
        uint32 version = paramsVersion + 1;
        _params[version] = p;
        paramsVersion = version;
        emit ParamsUpdated(version);
    }

    function _checkWad(string memory name, uint256 value) internal pure {
        if (value > WAD) revert ParamAboveWad(name, value);
    }

    function _checkCostModel(string memory name, RewardMathV1.CostModel memory m) internal pure {
        uint256 sum = uint256(m.wLatency) + m.wTokens + m.wMemory;
        if (sum != WAD) revert WeightsNotWad(name, sum);
        if (m.refLatencyMs == 0 || m.refTokens == 0 || m.refMemoryMb == 0) revert ZeroParam(name);
    }

    function _round(uint256 roundId) internal view returns (Round storage r) {
        r = _rounds[roundId];
        if (r.stage == Stage.None) revert RoundNotFound(roundId);
    }

    function _expectStage(uint256 roundId, Round storage r, Stage expected) internal view {
        if (r.stage != expected) revert WrongStage(roundId, expected, r.stage);
    }

    function _requireActive(address node, Role role) internal view returns (Node storage n) {
        n = nodes[node];
        if (n.role != role) revert NotRegisteredAs(node, role);
        if (n.exitableAt != 0) revert NodeExiting(node);
        uint256 minStake = _params[paramsVersion].minStake;
        if (n.stake < minStake) revert StakeTooLow(n.stake, minStake);
    }

    function _enter(uint256 roundId, Round storage r, Stage stage, uint32 window) internal {
        r.stage = stage;
        r.deadline = uint64(block.number + window);
        emit StageChanged(roundId, stage, r.deadline);
    }

    /// @dev The state machine: closes every stage whose deadline has passed.
    function _advance(uint256 roundId, Round storage r) internal {
        while (r.stage != Stage.Settleable && r.stage != Stage.Settled && block.number > r.deadline) {
            _closeStage(roundId, r);
        }
    }

    /// @dev Ends the current stage and enters the next one. Runs when a deadline passes
    ///      or as soon as everyone expected in the stage has acted.
    function _closeStage(uint256 roundId, Round storage r) internal {
        Params storage p = _params[r.paramsVersion];
        Stage s = r.stage;
        if (s == Stage.Commit) {
            if (r.commits == 0) _enter(roundId, r, Stage.Settleable, 0);
            else _enter(roundId, r, Stage.Reveal, p.revealWindow);
        } else if (s == Stage.Reveal) {
            if (r.reveals == 0) _enter(roundId, r, Stage.Settleable, 0);
            else if (r.referenceCommitment != bytes32(0)) _enter(roundId, r, Stage.Reference, p.referenceWindow);
            else _drawCommittee(roundId, r, p);
        } else if (s == Stage.Reference) {
            _drawCommittee(roundId, r, p);
        } else if (s == Stage.ScoreCommit) {
            if (r.scoreCommits == 0) _enter(roundId, r, Stage.Settleable, 0);
            else _enter(roundId, r, Stage.ScoreReveal, p.scoreRevealWindow);
        } else if (s == Stage.ScoreReveal) {
            _enter(roundId, r, Stage.Settleable, 0);
        }
    }

    /// @dev Draws min(K, active evaluators) distinct evaluators with a seed from
    ///      `prevrandao` and the round id. `prevrandao` can be biased by the block
    ///      proposer (one bit per skipped slot) and is fixed on a devnet: fine for
    ///      a committee whose members are already staked, not for high-value lotteries.
    function _drawCommittee(uint256 roundId, Round storage r, Params storage p) internal {
        uint256 available = _evaluatorSet.length;
        uint256 k = r.committeeSize < available ? r.committeeSize : available;
        if (k == 0) {
            _enter(roundId, r, Stage.Settleable, 0);
            return;
        }
        bytes32 seed = keccak256(abi.encode(block.prevrandao, roundId));
        address[] storage members = _committee[roundId];
        for (uint256 nonce; members.length < k; ++nonce) {
            address candidate = _evaluatorSet[uint256(keccak256(abi.encode(seed, nonce))) % available];
            Evaluation storage ev = _evaluations[roundId][candidate];
            if (!ev.member) {
                ev.member = true;
                members.push(candidate);
                nodes[candidate].pendingRounds += 1;
            }
        }
        emit CommitteeDrawn(roundId, members, seed);
        _enter(roundId, r, Stage.ScoreCommit, p.scoreCommitWindow);
    }

    function _slash(uint256 roundId, address node, uint256 slashAmount) internal {
        Node storage n = nodes[node];
        uint256 amount = slashAmount < n.stake ? slashAmount : n.stake;
        n.stake -= uint128(amount);
        balances[owner()] += amount;
        emit Slashed(roundId, node, amount);
    }

    /// @dev Quality of every revealed output: mean or median over the evaluators that revealed.
    ///      All zero when no evaluator revealed, which pays no quality reward.
    function _quality(uint256 roundId, Round storage r, Params storage p)
        internal
        view
        returns (uint256[] memory quality)
    {
        uint256 outputs = r.reveals;
        quality = new uint256[](outputs);
        uint256 revealers = r.scoreReveals;
        if (revealers == 0) return quality;
        address[] storage members = _committee[roundId];
        uint256[] memory column = new uint256[](revealers);
        for (uint256 i; i < outputs; ++i) {
            uint256 filled;
            for (uint256 j; j < members.length; ++j) {
                Evaluation storage ev = _evaluations[roundId][members[j]];
                if (ev.revealed) column[filled++] = ev.scores[i];
            }
            quality[i] = p.aggregation == Aggregation.Median ? column.median() : column.mean();
        }
    }

    /*//////////////////////////////////////////////////////////////
                             EXTERNAL FUNCTIONS
    //////////////////////////////////////////////////////////////*/

    // ------------------------------ governance ------------------------------

    /// @notice Puts a new parameter set in force for rounds opened from now on.
    /// @dev Reverts on nonsense: a WAD parameter above 1, cost weights not summing
    ///      to 1, a zero reference or window or stake, a slash above the minimum stake.
    function setParams(Params calldata p) external onlyOwner {
        _setParams(p);
    }

    /// @notice The parameter set of `version` (the current one is `paramsVersion`).
    function params(uint32 version) external view returns (Params memory) {
        return _params[version];
    }

    // ------------------------------ nodes ------------------------------

    /// @notice Registers the caller as an inference node or an evaluator, staking `msg.value`.
    function register(Role role) external payable {
        if (role == Role.None) revert InvalidRole();
        Node storage n = nodes[msg.sender];
        if (n.role != Role.None) revert AlreadyRegistered(msg.sender);
        uint256 minStake = _params[paramsVersion].minStake;
        if (msg.value < minStake) revert StakeTooLow(msg.value, minStake);
        n.role = role;
        n.stake = uint128(msg.value);
        if (role == Role.Evaluator) {
            _evaluatorSet.push(msg.sender);
            _evaluatorIndex[msg.sender] = _evaluatorSet.length;
        }
        emit NodeRegistered(msg.sender, role, msg.value);
    }

    /// @notice Adds `msg.value` to the caller's stake (to climb back above the minimum after a slash).
    function addStake() external payable {
        Node storage n = nodes[msg.sender];
        if (n.role == Role.None) revert NotRegisteredAs(msg.sender, Role.None);
        n.stake += uint128(msg.value);
        emit StakeAdded(msg.sender, msg.value, n.stake);
    }

    /// @notice Starts leaving: the node takes no new rounds and its stake unbonds.
    function requestExit() external {
        Node storage n = nodes[msg.sender];
        if (n.role == Role.None) revert NotRegisteredAs(msg.sender, Role.None);
        if (n.exitableAt != 0) revert NodeExiting(msg.sender);
        n.exitableAt = uint64(block.number + _params[paramsVersion].unbondingBlocks);
        uint256 index = _evaluatorIndex[msg.sender];
        if (index != 0) {
            address last = _evaluatorSet[_evaluatorSet.length - 1];
            _evaluatorSet[index - 1] = last;
            _evaluatorIndex[last] = index;
            _evaluatorSet.pop();
            delete _evaluatorIndex[msg.sender];
        }
        emit ExitRequested(msg.sender, n.exitableAt);
    }

    /// @notice Finishes leaving once unbonded and no round is pending; the stake becomes withdrawable.
    function completeExit() external {
        Node storage n = nodes[msg.sender];
        if (n.exitableAt == 0 || block.number < n.exitableAt || n.pendingRounds != 0) {
            revert ExitNotReady(n.exitableAt, n.pendingRounds);
        }
        uint256 stake = n.stake;
        delete nodes[msg.sender];
        balances[msg.sender] += stake;
        emit ExitCompleted(msg.sender, stake);
    }

    /// @notice Active evaluators committees are drawn from.
    function evaluatorSet() external view returns (address[] memory) {
        return _evaluatorSet;
    }

    // ------------------------------ rounds ------------------------------

    /// @notice Opens a round for `task` with `msg.value` as its budget.
    /// @return roundId the new round's id
    function openRound(Task calldata task) external payable returns (uint256 roundId) {
        if (msg.value == 0) revert ZeroBudget();
        if (task.slots == 0 || task.slots > MAX_SLOTS) revert InvalidSlots(task.slots);
        uint256 available = _evaluatorSet.length;
        if (task.committeeSize == 0 || task.committeeSize > MAX_COMMITTEE || task.committeeSize > available) {
            revert InvalidCommitteeSize(task.committeeSize, available);
        }
        roundId = nextRoundId++;
        Params storage p = _params[paramsVersion];
        uint256 inferencePool = msg.value * p.inferenceShare / WAD;
        Round storage r = _rounds[roundId];
        r.requester = msg.sender;
        r.slots = task.slots;
        r.committeeSize = task.committeeSize;
        r.paramsVersion = paramsVersion;
        r.inferencePool = uint128(inferencePool);
        r.evaluatorPool = uint128(msg.value - inferencePool);
        r.taskHash = task.taskHash;
        r.referenceCommitment = task.referenceCommitment;
        emit RoundOpened(
            roundId,
            msg.sender,
            task.taskHash,
            task.kind,
            task.uri,
            task.slots,
            task.committeeSize,
            task.referenceCommitment,
            inferencePool,
            msg.value - inferencePool,
            paramsVersion
        );
        _enter(roundId, r, Stage.Commit, p.commitWindow);
    }

    /// @notice Moves round `roundId` past every deadline that has passed (anyone may call).
    function advance(uint256 roundId) external {
        _advance(roundId, _round(roundId));
    }

    /// @notice Commits to an output: `keccak256(abi.encode(chainid, this, roundId, node, keccak256(output), cost, salt))`.
    function commitOutput(uint256 roundId, bytes32 commitment) external {
        Round storage r = _round(roundId);
        _advance(roundId, r);
        _expectStage(roundId, r, Stage.Commit);
        Node storage n = _requireActive(msg.sender, Role.Inference);
        Submission storage sub = submissions[roundId][msg.sender];
        if (sub.commitment != bytes32(0)) revert AlreadyCommitted(roundId, msg.sender);
        sub.commitment = commitment;
        _committers[roundId].push(msg.sender);
        n.pendingRounds += 1;
        emit OutputCommitted(roundId, msg.sender, commitment);
        if (++r.commits == r.slots) _closeStage(roundId, r);
    }

    /// @notice Reveals the committed output and cost attestation; the output text goes out in the event.
    function revealOutput(uint256 roundId, string calldata output, RewardMathV1.Cost calldata cost, bytes32 salt)
        external
    {
        Round storage r = _round(roundId);
        _advance(roundId, r);
        _expectStage(roundId, r, Stage.Reveal);
        Submission storage sub = submissions[roundId][msg.sender];
        if (sub.commitment == bytes32(0)) revert NotCommitted(roundId, msg.sender);
        if (sub.revealed) revert AlreadyRevealed(roundId, msg.sender);
        bytes32 outputHash = keccak256(bytes(output));
        RewardMathV1.Cost memory c = cost;
        bytes32 expected = keccak256(abi.encode(block.chainid, address(this), roundId, msg.sender, outputHash, c, salt));
        if (expected != sub.commitment) revert CommitmentMismatch(roundId, msg.sender);
        uint64 normalised = RewardMathV1.normalisedCost(c, _params[r.paramsVersion].inferenceCost);
        sub.revealed = true;
        sub.outputHash = outputHash;
        sub.cost = normalised;
        _revealed[roundId].push(msg.sender);
        emit OutputRevealed(roundId, msg.sender, r.reveals, output, c, normalised);
        if (++r.reveals == r.commits) _closeStage(roundId, r);
    }

    /// @notice The requester reveals the reference answer committed at open:
    ///         `keccak256(abi.encode(chainid, this, requester, taskHash, keccak256(reference), salt))`.
    function revealReference(uint256 roundId, string calldata referenceAnswer, bytes32 salt) external {
        Round storage r = _round(roundId);
        _advance(roundId, r);
        if (r.referenceCommitment == bytes32(0)) revert NoReference(roundId);
        _expectStage(roundId, r, Stage.Reference);
        if (msg.sender != r.requester) revert NotRequester(roundId, msg.sender);
        bytes32 expected = keccak256(
            abi.encode(block.chainid, address(this), msg.sender, r.taskHash, keccak256(bytes(referenceAnswer)), salt)
        );
        if (expected != r.referenceCommitment) revert CommitmentMismatch(roundId, msg.sender);
        r.referenceRevealed = true;
        emit ReferenceRevealed(roundId, referenceAnswer);
        _closeStage(roundId, r);
    }

    /// @notice A committee member commits to its scores:
    ///         `keccak256(abi.encode(chainid, this, roundId, evaluator, keccak256(abi.encode(scores)), cost, salt))`.
    function commitScores(uint256 roundId, bytes32 commitment) external {
        Round storage r = _round(roundId);
        _advance(roundId, r);
        _expectStage(roundId, r, Stage.ScoreCommit);
        Evaluation storage ev = _evaluations[roundId][msg.sender];
        if (!ev.member) revert NotInCommittee(roundId, msg.sender);
        if (ev.commitment != bytes32(0)) revert AlreadyCommitted(roundId, msg.sender);
        ev.commitment = commitment;
        emit ScoresCommitted(roundId, msg.sender, commitment);
        if (++r.scoreCommits == _committee[roundId].length) _closeStage(roundId, r);
    }

    /// @notice Reveals one WAD score (0..1e18) per revealed output, in `OutputRevealed` index order, and the evaluator's cost.
    function revealScores(uint256 roundId, uint64[] calldata scores, RewardMathV1.Cost calldata cost, bytes32 salt)
        external
    {
        Round storage r = _round(roundId);
        _advance(roundId, r);
        _expectStage(roundId, r, Stage.ScoreReveal);
        Evaluation storage ev = _evaluations[roundId][msg.sender];
        if (!ev.member) revert NotInCommittee(roundId, msg.sender);
        if (ev.commitment == bytes32(0)) revert NotCommitted(roundId, msg.sender);
        if (ev.revealed) revert AlreadyRevealed(roundId, msg.sender);
        if (scores.length != r.reveals) revert ScoreCountMismatch(r.reveals, scores.length);
        for (uint256 i; i < scores.length; ++i) {
            if (scores[i] > WAD) revert ScoreOutOfRange(i, scores[i]);
        }
        RewardMathV1.Cost memory c = cost;
        bytes32 expected = keccak256(
            abi.encode(block.chainid, address(this), roundId, msg.sender, keccak256(abi.encode(scores)), c, salt)
        );
        if (expected != ev.commitment) revert CommitmentMismatch(roundId, msg.sender);
        uint64 normalised = RewardMathV1.normalisedCost(c, _params[r.paramsVersion].evaluatorCost);
        ev.revealed = true;
        ev.cost = normalised;
        ev.scores = scores;
        emit ScoresRevealed(roundId, msg.sender, scores, c, normalised);
        if (++r.scoreReveals == r.scoreCommits) _closeStage(roundId, r);
    }

    /// @notice Settles a round once scoring has closed (anyone may call): credits every
    ///         reward, slashes those who committed and never revealed, refunds the rest.
    function settle(uint256 roundId) external {
        Round storage r = _round(roundId);
        _advance(roundId, r);
        _expectStage(roundId, r, Stage.Settleable);
        r.stage = Stage.Settled;
        Params storage p = _params[r.paramsVersion];
        uint256[] memory quality = _quality(roundId, r, p);
        uint256 paid;

        address[] storage committed = _committers[roundId];
        for (uint256 i; i < committed.length; ++i) {
            address node = committed[i];
            nodes[node].pendingRounds -= 1;
            if (!submissions[roundId][node].revealed) _slash(roundId, node, p.slashAmount);
        }
        address[] storage outputs = _revealed[roundId];
        for (uint256 i; i < outputs.length; ++i) {
            Submission storage sub = submissions[roundId][outputs[i]];
            uint256 reward = RewardMathV1.linearReward(p.alphaInference, quality[i], p.betaInference, sub.cost);
            uint256 amount = RewardMathV1.payout(r.inferencePool, r.slots, reward);
            balances[outputs[i]] += amount;
            paid += amount;
            emit InferencePaid(roundId, outputs[i], quality[i], sub.cost, reward, amount);
        }
        address[] storage members = _committee[roundId];
        for (uint256 j; j < members.length; ++j) {
            address member = members[j];
            nodes[member].pendingRounds -= 1;
            Evaluation storage ev = _evaluations[roundId][member];
            if (ev.revealed) {
                uint256 agreement = RewardMathV1.agreement(ev.scores, quality);
                uint256 reward = RewardMathV1.linearReward(p.alphaEvaluator, agreement, p.betaEvaluator, ev.cost);
                uint256 amount = RewardMathV1.payout(r.evaluatorPool, r.committeeSize, reward);
                balances[member] += amount;
                paid += amount;
                emit EvaluatorPaid(roundId, member, agreement, ev.cost, reward, amount);
            } else if (ev.commitment != bytes32(0)) {
                _slash(roundId, member, p.slashAmount);
            }
        }
        uint256 refund = uint256(r.inferencePool) + r.evaluatorPool - paid;
        balances[r.requester] += refund;
        emit RoundSettled(roundId, paid, refund);
    }

    /// @notice Sends the caller everything it is owed (pull payment).
    function withdraw() external nonReentrant {
        uint256 amount = balances[msg.sender];
        if (amount == 0) revert NothingToWithdraw(msg.sender);
        balances[msg.sender] = 0;
        (bool ok,) = msg.sender.call{value: amount}("");
        if (!ok) revert TransferFailed(msg.sender, amount);
        emit Withdrawn(msg.sender, amount);
    }

    // ------------------------------ views ------------------------------

    /// @notice The round's stored state; `expired` means the current block is past its stage's deadline, so any call
    ///         that touches the round moves it on (a call mined in the deadline block itself still counts).
    function round(uint256 roundId) external view returns (Round memory r, bool expired) {
        r = _rounds[roundId];
        expired = r.stage != Stage.None && r.stage < Stage.Settleable && block.number > r.deadline;
    }

    /// @notice Inference nodes that revealed in `roundId`, in score-index order.
    function revealedNodes(uint256 roundId) external view returns (address[] memory) {
        return _revealed[roundId];
    }

    /// @notice Inference nodes that committed in `roundId`, in commit order.
    function committers(uint256 roundId) external view returns (address[] memory) {
        return _committers[roundId];
    }

    /// @notice The committee drawn for `roundId` (empty before the draw).
    function committee(uint256 roundId) external view returns (address[] memory) {
        return _committee[roundId];
    }

    /// @notice An evaluator's entry in `roundId`.
    function evaluation(uint256 roundId, address evaluator) external view returns (Evaluation memory) {
        return _evaluations[roundId][evaluator];
    }
}
