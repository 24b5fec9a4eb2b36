// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {RewardMath} from "./RewardMath.sol";
import {Sortition} from "./Sortition.sol";

/// @title PoQ: cost-aware Proof of Quality rounds for decentralized LLM inference
/// @notice A requester opens a round with a task and a budget. Registered inference
///         nodes commit, then reveal, an output and a cost attestation; a stake-weighted
///         committee of evaluators, drawn with a seed mixed from the revealed salts,
///         commits, then reveals, one score per output and its own cost; `settle` pays
///         `R = alpha * quality - beta * cost` to both kinds of node, slashes those who
///         did not do their part, and refunds the rest, so that payouts plus refund
///         equal the budget to the wei.
/// @dev Phases end at their deadline (in blocks) or as soon as everyone expected has
///      acted. The stored stage moves forward only in `_advance`, which every
///      round-touching call runs first. Payments are pulled with `withdraw`. Per-output
///      data that `settle` needs arrives in its calldata and is checked against what the
///      reveals stored (a state byte and a digest per node), so no score is stored.
///      `docs/DESIGN.md` has the threat table this contract answers.
contract PoQ is Ownable, ReentrancyGuard {
    using RewardMath for uint256[];

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

    /// @notice Where a node stands in one round. `Member` is a drawn evaluator that has not committed.
    enum Entry {
        None,
        Member,
        Committed,
        Revealed
    }

    /*//////////////////////////////////////////////////////////////
                                  STRUCTS
    //////////////////////////////////////////////////////////////*/

    /// @notice Owner-set protocol parameters. Rounds keep the version they opened with.
    /// @dev Field order packs what one call reads into one slot: the rewards; the share, stake and
    ///      budget floors; the windows and aggregation; the slash; then the two cost models.
    struct Params {
        uint64 alphaInference;
        uint64 betaInference;
        uint64 alphaEvaluator;
        uint64 betaEvaluator;
        uint64 inferenceShare;
        uint96 minStake;
        uint96 minBudget;
        uint32 commitWindow;
        uint32 revealWindow;
        uint32 referenceWindow;
        uint32 scoreCommitWindow;
        uint32 scoreRevealWindow;
        uint32 unbondingBlocks;
        Aggregation aggregation;
        uint96 slashAmount;
        RewardMath.CostModel inferenceCost;
        RewardMath.CostModel evaluatorCost;
    }

    /// @notice What a requester asks for when opening a round.
    /// @param taskHash keccak256 of the task's canonical content
    /// @param uri where the task can be read (a `data:` URI carries the prompt in the event)
    /// @param kind the task kind, e.g. "qa" or "summarization"
    /// @param slots number of inference nodes paid, n
    /// @param committeeSize number of evaluators drawn, K
    /// @param referenceCommitment commitment to the reference answer, or zero for none
    /// @param paramsVersion the parameter version the requester agreed to (must be the current one)
    struct Task {
        bytes32 taskHash;
        string uri;
        string kind;
        uint8 slots;
        uint8 committeeSize;
        bytes32 referenceCommitment;
        uint32 paramsVersion;
    }

    /// @notice A registered node, in one storage slot.
    /// @param setIndex position + 1 in the evaluator set (0: not in it)
    /// @param pendingRounds unsettled rounds the node committed to or was drawn for
    /// @param activeAt first block whose rounds may draw the node (it registered before them)
    /// @param exitableAt block from which the exit completes (0: not exiting)
    /// @param recentAt block of the latest `addStake`; that stake does not count for rounds opened until then
    /// @param stake wei at stake
    struct Node {
        Role role;
        uint16 setIndex;
        uint32 pendingRounds;
        uint32 activeAt;
        uint32 exitableAt;
        uint32 recentAt;
        uint96 stake;
    }

    /// @notice A round's state: the first slot is written by every call, the second at open only.
    /// @param deadline last block of the current stage
    /// @param openedAt block the round opened in (evaluators and stake must predate it to count)
    /// @param drawn committee members actually drawn (at most committeeSize)
    /// @param seed XOR of the revealed salts (and the reference salt): the committee seed's entropy
    struct Round {
        Stage stage;
        uint32 deadline;
        uint32 openedAt;
        uint32 paramsVersion;
        uint8 slots;
        uint8 committeeSize;
        uint8 drawn;
        uint8 commits;
        uint8 reveals;
        uint8 scoreCommits;
        uint8 scoreReveals;
        bool hasReference;
        bool referenceRevealed;
        uint80 seed;
        address requester;
        uint96 budget;
    }

    /// @notice One committee member's revealed scores and cost, as `settle` takes them.
    struct Scorecard {
        uint64[] scores;
        RewardMath.Cost cost;
    }

    /// @notice What `settle` takes, read from the round's events and checked against storage:
    ///         `outputs` the revealed inference nodes, `silent` those that committed and did not
    ///         reveal, `committee` the drawn members, each in strictly ascending address order, and
    ///         `cards[j]` what `committee[j]` revealed (anything for a member that did not reveal).
    struct Settlement {
        address[] outputs;
        address[] silent;
        address[] committee;
        Scorecard[] cards;
    }

    /// @notice What one settlement has credited so far (memory only: keeps `settle` within the stack).
    struct Payouts {
        uint256 inferencePool;
        uint256 evaluatorPool;
        uint256 share;
        uint256 memberShare;
        uint256 paidInference;
        uint256 paidEvaluators;
        bool withheld;
        address[] doers;
        uint256 doerCount;
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

    /// @notice Most evaluators the set may hold (bounds the committee draw's loop).
    uint256 public constant MAX_EVALUATORS = 256;

    /// @notice Longest stage window, in blocks (a week of 12-second blocks).
    uint256 public constant MAX_WINDOW = 50_400;

    /// @notice Longest unbonding delay, in blocks (four weeks of 12-second blocks).
    uint256 public constant MAX_UNBONDING = 201_600;

    /*//////////////////////////////////////////////////////////////
                                  STORAGE
    //////////////////////////////////////////////////////////////*/

    /// @notice Every parameter set ever in force, by version.
    mapping(uint32 => Params) internal _params;

    /// @notice The version new rounds open with.
    uint32 public paramsVersion;

    /// @notice The id the next round gets; ids start at 1.
    uint64 public nextRoundId = 1;

    /// @notice Registered nodes by address.
    mapping(address => Node) public nodes;

    /// @notice Stake added at `Node.recentAt`, left out of the draw weight of rounds opened until then.
    mapping(address => uint256) public recentStake;

    /// @notice Evaluators committees are drawn from (exiting ones are removed).
    address[] internal _evaluatorSet;

    /// @notice Rounds by id.
    mapping(uint256 => Round) internal _rounds;

    /// @notice The reference commitment of a round that has one.
    mapping(uint256 => bytes32) public referenceCommitment;

    /// @notice Inference entries: `Entry` in the top byte; the commitment's low 248 bits until the
    ///         reveal, then the attested cost (latencyMs << 128 | tokens << 64 | memoryMb).
    mapping(uint256 => mapping(address => uint256)) internal _submissions;

    /// @notice Evaluator entries: `Entry` in the top byte; the commitment's low 248 bits until the
    ///         reveal, then the low 248 bits of `keccak256(abi.encode(scores, cost))`.
    mapping(uint256 => mapping(address => uint256)) internal _evaluations;

    /// @notice Wei each account may withdraw.
    mapping(address => uint256) public balances;

    /*//////////////////////////////////////////////////////////////
                                   EVENTS
    //////////////////////////////////////////////////////////////*/

    /// @notice Emitted when the owner puts a new parameter set in force.
    event ParamsUpdated(uint32 indexed version);

    /// @notice Emitted when a node registers with a stake; it may be drawn from block `activeAt`.
    event NodeRegistered(address indexed node, Role role, uint256 stake, uint32 activeAt);

    /// @notice Emitted when a node adds to its stake.
    event StakeAdded(address indexed node, uint256 amount, uint256 stake);

    /// @notice Emitted when a node starts leaving; its stake is released at `exitableAt`.
    event ExitRequested(address indexed node, uint32 exitableAt);

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

    /// @notice Emitted when an inference node reveals. Scores follow the revealed outputs in
    ///         ascending order of the nodes' addresses, whatever the order of the reveals.
    event OutputRevealed(uint256 indexed roundId, address indexed node, string output, RewardMath.Cost cost);

    /// @notice Emitted when the requester reveals the task's reference answer.
    event ReferenceRevealed(uint256 indexed roundId, string referenceAnswer);

    /// @notice Emitted when the committee is drawn, members in ascending order of their draw keys.
    event CommitteeDrawn(uint256 indexed roundId, address[] members, bytes32 seed);

    /// @notice Emitted when a committee member commits to its scores.
    event ScoresCommitted(uint256 indexed roundId, address indexed evaluator, bytes32 commitment);

    /// @notice Emitted when a committee member reveals one WAD score per revealed output.
    event ScoresRevealed(uint256 indexed roundId, address indexed evaluator, uint64[] scores, RewardMath.Cost cost);

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

    /// @notice Emitted at settlement when a node that did its part gets a share of a forfeited pool
    ///         (the requester withheld its reference, or no committee member revealed).
    event Compensated(uint256 indexed roundId, address indexed node, uint256 amount);

    /// @notice Emitted when a node that committed and never revealed, or a drawn member that never
    ///         committed, loses stake to the owner.
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

    /// @notice Thrown by `register()` when the evaluator set already holds `MAX_EVALUATORS`.
    error EvaluatorSetFull(uint256 max);

    /// @notice Thrown when a call needs the caller registered as `role` and it is not.
    error NotRegisteredAs(address node, Role role);

    /// @notice Thrown when a stake of `stake` is below the `required` minimum.
    error StakeTooLow(uint256 stake, uint256 required);

    /// @notice Thrown when a stake would exceed what a node record holds (uint96).
    error StakeTooHigh(uint256 stake);

    /// @notice Thrown when a node that asked to exit tries to take part in a round.
    error NodeExiting(address node);

    /// @notice Thrown by `completeExit()` before the unbonding delay or while rounds are pending.
    error ExitNotReady(uint32 exitableAt, uint32 pendingRounds);

    /// @notice Thrown by `openRound()` for a budget below the parameters' `minBudget`.
    error BudgetTooLow(uint256 budget, uint256 minBudget);

    /// @notice Thrown by `openRound()` for a budget above what a round record holds (uint96).
    error BudgetTooHigh(uint256 budget);

    /// @notice Thrown by `openRound()` when the parameters changed since the requester read them.
    error ParamsChanged(uint32 asked, uint32 current);

    /// @notice Thrown by `openRound()` for a slot count outside `[1, MAX_SLOTS]`.
    error InvalidSlots(uint256 slots);

    /// @notice Thrown by `openRound()` for a committee size of zero, above MAX_COMMITTEE, or above the `available` evaluators.
    error InvalidCommitteeSize(uint256 committeeSize, uint256 available);

    /// @notice Thrown by `commitOutput()` and `commitScores()` for a zero commitment.
    error ZeroCommitment(uint256 roundId, address node);

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

    /// @notice Thrown by `settle()` when a list has `actual` entries where the round has `expected`.
    error WrongCount(uint256 expected, uint256 actual);

    /// @notice Thrown by `settle()` when a list is not in strictly ascending address order at `position`.
    error NotAscending(uint256 position);

    /// @notice Thrown by `settle()` when `node` is listed but is not in entry state `expected`.
    error WrongEntry(address node, Entry expected);

    /// @notice Thrown by `settle()` when `evaluator`'s scorecard does not hash to what it revealed.
    error ScorecardMismatch(address evaluator);

    /// @notice Thrown by `withdraw()` when the caller is owed nothing.
    error NothingToWithdraw(address account);

    /// @notice Thrown by `withdraw()` when the receiver rejects the transfer.
    error TransferFailed(address account, uint256 amount);

    /// @notice Thrown by `setParams()` when a WAD-scaled parameter `name` (its field name, as bytes32) is `value`, above WAD.
    error ParamAboveWad(bytes32 name, uint256 value);

    /// @notice Thrown by `setParams()` when cost weights `name` sum to `sum`, not WAD.
    error WeightsNotWad(bytes32 name, uint256 sum);

    /// @notice Thrown by `setParams()` when a cost reference, window, stake or budget floor `name` is zero.
    error ZeroParam(bytes32 name);

    /// @notice Thrown by `setParams()` when window `name` is `value` blocks, above `max`.
    error WindowTooLong(bytes32 name, uint256 value, uint256 max);

    /// @notice Thrown by `setParams()` when the slash `slashAmount` exceeds the minimum stake `minStake`.
    error SlashAboveMinStake(uint256 slashAmount, uint256 minStake);

    /// @notice Thrown by `renounceOwnership()`: slashes are credited to the owner, who must exist.
    error RenounceDisabled();

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
        _checkWindow("commitWindow", p.commitWindow, MAX_WINDOW);
        _checkWindow("revealWindow", p.revealWindow, MAX_WINDOW);
        _checkWindow("referenceWindow", p.referenceWindow, MAX_WINDOW);
        _checkWindow("scoreCommitWindow", p.scoreCommitWindow, MAX_WINDOW);
        _checkWindow("scoreRevealWindow", p.scoreRevealWindow, MAX_WINDOW);
        if (p.unbondingBlocks > MAX_UNBONDING) {
            revert WindowTooLong("unbondingBlocks", p.unbondingBlocks, MAX_UNBONDING);
        }
        if (p.minStake == 0) revert ZeroParam("minStake");
        if (p.minBudget == 0) revert ZeroParam("minBudget");
        if (p.slashAmount > p.minStake) revert SlashAboveMinStake(p.slashAmount, p.minStake);
        uint32 version = paramsVersion + 1;
        _params[version] = p;
        paramsVersion = version;
        emit ParamsUpdated(version);
    }

    function _checkWad(bytes32 name, uint256 value) internal pure {
        if (value > WAD) revert ParamAboveWad(name, value);
    }

    function _checkWindow(bytes32 name, uint256 value, uint256 max) internal pure {
        if (value == 0) revert ZeroParam(name);
        if (value > max) revert WindowTooLong(name, value, max);
    }

    function _checkCostModel(bytes32 name, RewardMath.CostModel memory m) internal pure {
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

    function _requireActive(address node, Role role, uint256 minStake) internal view returns (Node storage n) {
        n = nodes[node];
        if (n.role != role) revert NotRegisteredAs(node, role);
        if (n.exitableAt != 0) revert NodeExiting(node);
        if (n.stake < minStake) revert StakeTooLow(n.stake, minStake);
    }

    function _enter(uint256 roundId, Round storage r, Stage stage, uint32 window) internal {
        r.stage = stage;
        r.deadline = uint32(block.number) + window;
        emit StageChanged(roundId, stage, r.deadline);
    }

    /// @dev The state machine: closes every stage whose deadline has passed.
    function _advance(uint256 roundId, Round storage r) internal {
        while (r.stage < Stage.Settleable && block.number > r.deadline) {
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
            else if (r.hasReference) _enter(roundId, r, Stage.Reference, p.referenceWindow);
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

    /// @dev What `evaluator` weighs in the draw of a round opened at block `openedAt`: its stake,
    ///      less stake added since the round opened, if it registered before the round opened and
    ///      that leaves at least `minStake`; otherwise 0 (not drawable).
    function _drawWeight(address evaluator, uint32 openedAt, uint256 minStake) internal view returns (uint256 w) {
        Node storage n = nodes[evaluator];
        if (n.activeAt > openedAt) return 0;
        w = n.stake;
        if (n.recentAt >= openedAt) {
            uint256 recent = recentStake[evaluator];
            w = w > recent ? w - recent : 0;
        }
        if (w < minStake) return 0;
    }

    /// @dev Draws up to K evaluators by stake-weighted sortition (see `Sortition`). The seed mixes the
    ///      revealed salts, which no single sender controls: an inference node can bias it only by
    ///      withholding its reveal, and that costs it `slashAmount`. Block data plays no part, so
    ///      neither the block nor the transaction order of any call changes the committee.
    function _drawCommittee(uint256 roundId, Round storage r, Params storage p) internal {
        uint256 k = r.committeeSize;
        address[] memory members = new address[](k);
        uint256[] memory keys = new uint256[](k);
        uint256 filled;
        bytes32 seed = keccak256(abi.encode(block.chainid, address(this), roundId, r.seed));
        uint256 minStake = p.minStake;
        uint32 openedAt = r.openedAt;
        uint256 m = _evaluatorSet.length;
        for (uint256 i; i < m; ++i) {
            address e = _evaluatorSet[i];
            uint256 w = _drawWeight(e, openedAt, minStake);
            if (w == 0) continue;
            uint256 key = Sortition.key(seed, e, w);
            uint256 j;
            if (filled < k) {
                j = filled++;
            } else if (key < keys[k - 1] || (key == keys[k - 1] && e < members[k - 1])) {
                j = k - 1;
            } else {
                continue;
            }
            while (j > 0 && (key < keys[j - 1] || (key == keys[j - 1] && e < members[j - 1]))) {
                keys[j] = keys[j - 1];
                members[j] = members[j - 1];
                --j;
            }
            keys[j] = key;
            members[j] = e;
        }
        if (filled == 0) {
            _enter(roundId, r, Stage.Settleable, 0);
            return;
        }
        assembly ("memory-safe") {
            mstore(members, filled)
        }
        for (uint256 i; i < filled; ++i) {
            _evaluations[roundId][members[i]] = uint256(Entry.Member) << 248;
            nodes[members[i]].pendingRounds += 1;
        }
        r.drawn = uint8(filled);
        emit CommitteeDrawn(roundId, members, seed);
        _enter(roundId, r, Stage.ScoreCommit, p.scoreCommitWindow);
    }

    function _slash(uint256 roundId, address node, uint256 slashAmount) internal {
        Node storage n = nodes[node];
        uint256 amount = slashAmount < n.stake ? slashAmount : n.stake;
        n.stake -= uint96(amount);
        balances[owner()] += amount;
        emit Slashed(roundId, node, amount);
    }

    function _entry(uint256 word) internal pure returns (Entry) {
        return Entry(word >> 248);
    }

    function _low248(bytes32 value) internal pure returns (uint256) {
        return uint256(value) & type(uint248).max;
    }

    function _checkAscending(address[] calldata list, uint256 expected) internal pure {
        if (list.length != expected) revert WrongCount(expected, list.length);
        for (uint256 i = 1; i < list.length; ++i) {
            if (list[i] <= list[i - 1]) revert NotAscending(i);
        }
    }

    /// @dev Quality of every revealed output from the revealed scorecards; all zero when nobody revealed.
    function _quality(Round storage r, Params storage p, bool[] memory revealed, Scorecard[] calldata cards)
        internal
        view
        returns (uint256[] memory quality)
    {
        uint256 outputs = r.reveals;
        quality = new uint256[](outputs);
        uint256 revealers = r.scoreReveals;
        if (revealers == 0) return quality;
        uint256[] memory column = new uint256[](revealers);
        bool median = p.aggregation == Aggregation.Median;
        for (uint256 i; i < outputs; ++i) {
            uint256 filled;
            for (uint256 j; j < cards.length; ++j) {
                if (revealed[j]) column[filled++] = cards[j].scores[i];
            }
            quality[i] = median ? column.median() : column.mean();
        }
    }

    /// @dev Credits `amount` split equally among `to` (dust left with the caller's refund) and returns what was credited.
    function _compensate(uint256 roundId, address[] memory to, uint256 count, uint256 amount)
        internal
        returns (uint256 credited)
    {
        if (count == 0 || amount == 0) return 0;
        uint256 share = amount / count;
        if (share == 0) return 0;
        for (uint256 i; i < count; ++i) {
            balances[to[i]] += share;
            emit Compensated(roundId, to[i], share);
        }
        return share * count;
    }

    /// @dev Which committee members revealed; each revealed member's scorecard must hash to its digest.
    function _revealedCards(uint256 roundId, Settlement calldata s) internal view returns (bool[] memory revealed) {
        address[] calldata committee = s.committee;
        Scorecard[] calldata cards = s.cards;
        revealed = new bool[](committee.length);
        mapping(address => uint256) storage evals = _evaluations[roundId];
        for (uint256 j; j < committee.length; ++j) {
            uint256 word = evals[committee[j]];
            Entry entry = _entry(word);
            if (entry == Entry.None) revert WrongEntry(committee[j], Entry.Member);
            if (entry == Entry.Revealed) {
                if (_low248(keccak256(abi.encode(cards[j].scores, cards[j].cost))) != word & type(uint248).max) {
                    revert ScorecardMismatch(committee[j]);
                }
                revealed[j] = true;
            }
        }
    }

    /// @dev Slashes the silent committers and pays every revealed output its cost-aware reward.
    function _payInference(
        uint256 roundId,
        Params storage p,
        Settlement calldata s,
        uint256[] memory quality,
        Payouts memory t
    ) internal {
        mapping(address => uint256) storage subs = _submissions[roundId];
        for (uint256 i; i < s.silent.length; ++i) {
            address node = s.silent[i];
            if (_entry(subs[node]) != Entry.Committed) revert WrongEntry(node, Entry.Committed);
            nodes[node].pendingRounds -= 1;
            _slash(roundId, node, p.slashAmount);
        }
        RewardMath.CostModel memory model = p.inferenceCost;
        for (uint256 i; i < s.outputs.length; ++i) {
            address node = s.outputs[i];
            uint256 word = subs[node];
            if (_entry(word) != Entry.Revealed) revert WrongEntry(node, Entry.Revealed);
            nodes[node].pendingRounds -= 1;
            t.paidInference += _payOutput(roundId, p, node, word, quality[i], model, t.share);
        }
    }

    /// @dev Credits one revealed output `share * R / WAD`, `R = alpha * q - beta * cost` (its cost
    ///      unpacked from its entry word), and returns the amount.
    function _payOutput(
        uint256 roundId,
        Params storage p,
        address node,
        uint256 word,
        uint256 quality,
        RewardMath.CostModel memory model,
        uint256 share
    ) internal returns (uint256 amount) {
        uint256 cost = RewardMath.normalisedCost(
            RewardMath.Cost(uint64(word >> 128), uint64(word >> 64), uint64(word)), model
        );
        uint256 reward = RewardMath.linearReward(p.alphaInference, quality, p.betaInference, cost);
        amount = share * reward / WAD;
        balances[node] += amount;
        emit InferencePaid(roundId, node, quality, cost, reward, amount);
    }

    /// @dev Pays every revealed member for its agreement and slashes the silent and the absent.
    function _payCommittee(
        uint256 roundId,
        Params storage p,
        Settlement calldata s,
        bool[] memory revealed,
        uint256[] memory quality,
        Payouts memory t
    ) internal {
        RewardMath.CostModel memory model = p.evaluatorCost;
        mapping(address => uint256) storage evals = _evaluations[roundId];
        for (uint256 j; j < s.committee.length; ++j) {
            address member = s.committee[j];
            nodes[member].pendingRounds -= 1;
            if (revealed[j]) {
                t.paidEvaluators += _payMember(roundId, p, member, s.cards[j], quality, model, t.memberShare);
                t.doers[t.doerCount++] = member;
            } else if (_entry(evals[member]) == Entry.Committed || !t.withheld) {
                // Committed and silent, or absent from a round whose reference was revealed.
                _slash(roundId, member, p.slashAmount);
            }
        }
    }

    /// @dev Credits one revealed member `share * R / WAD`, `R = alphaE * agreement - betaE * cost`.
    function _payMember(
        uint256 roundId,
        Params storage p,
        address member,
        Scorecard calldata card,
        uint256[] memory quality,
        RewardMath.CostModel memory model,
        uint256 share
    ) internal returns (uint256 amount) {
        uint256 agreement = RewardMath.agreement(card.scores, quality);
        uint256 cost = RewardMath.normalisedCost(card.cost, model);
        uint256 reward = RewardMath.linearReward(p.alphaEvaluator, agreement, p.betaEvaluator, cost);
        amount = share * reward / WAD;
        balances[member] += amount;
        emit EvaluatorPaid(roundId, member, agreement, cost, reward, amount);
    }

    function _emitOpened(uint256 roundId, Task calldata task, uint256 inferencePool, uint32 version) internal {
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
            version
        );
    }

    /*//////////////////////////////////////////////////////////////
                             EXTERNAL FUNCTIONS
    //////////////////////////////////////////////////////////////*/

    // ------------------------------ governance ------------------------------

    /// @notice Puts a new parameter set in force for rounds opened from now on.
    /// @dev Reverts on nonsense: a WAD parameter above 1, cost weights not summing to 1, a zero
    ///      reference, window, stake or budget floor, a window above its bound, a slash above the
    ///      minimum stake. A round in flight keeps the version it opened with, for every field.
    function setParams(Params calldata p) external onlyOwner {
        _setParams(p);
    }

    /// @notice Disabled: slashes are credited to the owner, so the contract always has one.
    function renounceOwnership() public view override onlyOwner {
        revert RenounceDisabled();
    }

    /// @notice The parameter set of `version` (the current one is `paramsVersion`).
    function params(uint32 version) external view returns (Params memory) {
        return _params[version];
    }

    // ------------------------------ nodes ------------------------------

    /// @notice Registers the caller as an inference node or an evaluator, staking `msg.value`.
    ///         An evaluator may be drawn only for rounds opened after the block it registered in.
    function register(Role role) external payable {
        if (role == Role.None) revert InvalidRole();
        Node storage n = nodes[msg.sender];
        if (n.role != Role.None) revert AlreadyRegistered(msg.sender);
        uint256 minStake = _params[paramsVersion].minStake;
        if (msg.value < minStake) revert StakeTooLow(msg.value, minStake);
        if (msg.value > type(uint96).max) revert StakeTooHigh(msg.value);
        n.role = role;
        n.stake = uint96(msg.value);
        n.activeAt = uint32(block.number) + 1;
        if (role == Role.Evaluator) {
            if (_evaluatorSet.length >= MAX_EVALUATORS) revert EvaluatorSetFull(MAX_EVALUATORS);
            _evaluatorSet.push(msg.sender);
            n.setIndex = uint16(_evaluatorSet.length);
        }
        emit NodeRegistered(msg.sender, role, msg.value, n.activeAt);
    }

    /// @notice Adds `msg.value` to the caller's stake (to climb back above the minimum after a slash).
    ///         The added stake weighs in the draw only of rounds opened after this block.
    function addStake() external payable {
        Node storage n = nodes[msg.sender];
        if (n.role == Role.None) revert NotRegisteredAs(msg.sender, Role.None);
        uint256 stake = uint256(n.stake) + msg.value;
        if (stake > type(uint96).max) revert StakeTooHigh(stake);
        n.stake = uint96(stake);
        // One tranche dated by the newest addition: a round opened before it leaves out every
        // addition, older ones included. Conservative: the weight is only ever too small.
        recentStake[msg.sender] += msg.value;
        n.recentAt = uint32(block.number);
        emit StakeAdded(msg.sender, msg.value, stake);
    }

    /// @notice Starts leaving: the node takes no new rounds, leaves the evaluator set, and its stake unbonds.
    function requestExit() external {
        Node storage n = nodes[msg.sender];
        if (n.role == Role.None) revert NotRegisteredAs(msg.sender, Role.None);
        if (n.exitableAt != 0) revert NodeExiting(msg.sender);
        n.exitableAt = uint32(block.number) + _params[paramsVersion].unbondingBlocks;
        uint256 index = n.setIndex;
        if (index != 0) {
            address last = _evaluatorSet[_evaluatorSet.length - 1];
            _evaluatorSet[index - 1] = last;
            nodes[last].setIndex = uint16(index);
            _evaluatorSet.pop();
            n.setIndex = 0;
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
        delete recentStake[msg.sender];
        balances[msg.sender] += stake;
        emit ExitCompleted(msg.sender, stake);
    }

    /// @notice Evaluators committees are drawn from.
    function evaluatorSet() external view returns (address[] memory) {
        return _evaluatorSet;
    }

    // ------------------------------ rounds ------------------------------

    /// @notice Opens a round for `task` with `msg.value` as its budget, under parameter version
    ///         `task.paramsVersion`, which must be the current one (so no parameter change can
    ///         slip in between the requester reading the parameters and its round opening).
    /// @return roundId the new round's id
    function openRound(Task calldata task) external payable returns (uint256 roundId) {
        uint32 version = paramsVersion;
        if (task.paramsVersion != version) revert ParamsChanged(task.paramsVersion, version);
        Params storage p = _params[version];
        if (msg.value < p.minBudget) revert BudgetTooLow(msg.value, p.minBudget);
        if (msg.value > type(uint96).max) revert BudgetTooHigh(msg.value);
        if (task.slots == 0 || task.slots > MAX_SLOTS) revert InvalidSlots(task.slots);
        uint256 available = _evaluatorSet.length;
        if (task.committeeSize == 0 || task.committeeSize > MAX_COMMITTEE || task.committeeSize > available) {
            revert InvalidCommitteeSize(task.committeeSize, available);
        }
        roundId = nextRoundId++;
        uint256 inferencePool = msg.value * p.inferenceShare / WAD;
        Round storage r = _rounds[roundId];
        r.openedAt = uint32(block.number);
        r.paramsVersion = version;
        r.slots = task.slots;
        r.committeeSize = task.committeeSize;
        r.requester = msg.sender;
        r.budget = uint96(msg.value);
        if (task.referenceCommitment != bytes32(0)) {
            r.hasReference = true;
            referenceCommitment[roundId] = task.referenceCommitment;
        }
        _emitOpened(roundId, task, inferencePool, version);
        _enter(roundId, r, Stage.Commit, p.commitWindow);
    }

    /// @notice Moves round `roundId` past every deadline that has passed (anyone may call).
    function advance(uint256 roundId) external {
        _advance(roundId, _round(roundId));
    }

    /// @notice Commits to an output: `keccak256(abi.encode(chainid, this, roundId, node, keccak256(output), cost, salt))`.
    ///         The salt is mixed into the committee seed when revealed, so it must be secret and random.
    function commitOutput(uint256 roundId, bytes32 commitment) external {
        Round storage r = _round(roundId);
        _advance(roundId, r);
        _expectStage(roundId, r, Stage.Commit);
        if (commitment == bytes32(0)) revert ZeroCommitment(roundId, msg.sender);
        Node storage n = _requireActive(msg.sender, Role.Inference, _params[r.paramsVersion].minStake);
        mapping(address => uint256) storage entries = _submissions[roundId];
        if (entries[msg.sender] != 0) revert AlreadyCommitted(roundId, msg.sender);
        entries[msg.sender] = uint256(Entry.Committed) << 248 | _low248(commitment);
        n.pendingRounds += 1;
        emit OutputCommitted(roundId, msg.sender, commitment);
        if (++r.commits == r.slots) _closeStage(roundId, r);
    }

    /// @notice Reveals the committed output and cost attestation; the output text goes out in the event.
    function revealOutput(uint256 roundId, string calldata output, RewardMath.Cost calldata cost, bytes32 salt)
        external
    {
        Round storage r = _round(roundId);
        _advance(roundId, r);
        _expectStage(roundId, r, Stage.Reveal);
        mapping(address => uint256) storage entries = _submissions[roundId];
        uint256 word = entries[msg.sender];
        Entry entry = _entry(word);
        if (entry == Entry.None) revert NotCommitted(roundId, msg.sender);
        if (entry == Entry.Revealed) revert AlreadyRevealed(roundId, msg.sender);
        RewardMath.Cost memory c = cost;
        bytes32 expected =
            keccak256(abi.encode(block.chainid, address(this), roundId, msg.sender, keccak256(bytes(output)), c, salt));
        if (_low248(expected) != word & type(uint248).max) revert CommitmentMismatch(roundId, msg.sender);
        entries[msg.sender] = uint256(Entry.Revealed) << 248 | uint256(c.latencyMs) << 128 | uint256(c.tokens) << 64
            | uint256(c.memoryMb);
        r.seed ^= uint80(uint256(salt));
        emit OutputRevealed(roundId, msg.sender, output, c);
        if (++r.reveals == r.commits) _closeStage(roundId, r);
    }

    /// @notice The requester reveals the reference answer committed at open:
    ///         `keccak256(abi.encode(chainid, this, requester, taskHash, keccak256(reference), salt))`.
    ///         Its salt joins the committee seed. A requester that never reveals forfeits the unpaid pools.
    function revealReference(uint256 roundId, bytes32 taskHash, string calldata referenceAnswer, bytes32 salt)
        external
    {
        Round storage r = _round(roundId);
        _advance(roundId, r);
        if (!r.hasReference) revert NoReference(roundId);
        _expectStage(roundId, r, Stage.Reference);
        if (msg.sender != r.requester) revert NotRequester(roundId, msg.sender);
        bytes32 expected = keccak256(
            abi.encode(block.chainid, address(this), msg.sender, taskHash, keccak256(bytes(referenceAnswer)), salt)
        );
        if (expected != referenceCommitment[roundId]) revert CommitmentMismatch(roundId, msg.sender);
        r.referenceRevealed = true;
        r.seed ^= uint80(uint256(salt));
        emit ReferenceRevealed(roundId, referenceAnswer);
        _closeStage(roundId, r);
    }

    /// @notice A committee member commits to its scores:
    ///         `keccak256(abi.encode(chainid, this, roundId, evaluator, keccak256(abi.encode(scores)), cost, salt))`.
    function commitScores(uint256 roundId, bytes32 commitment) external {
        Round storage r = _round(roundId);
        _advance(roundId, r);
        _expectStage(roundId, r, Stage.ScoreCommit);
        if (commitment == bytes32(0)) revert ZeroCommitment(roundId, msg.sender);
        mapping(address => uint256) storage entries = _evaluations[roundId];
        Entry entry = _entry(entries[msg.sender]);
        if (entry == Entry.None) revert NotInCommittee(roundId, msg.sender);
        if (entry != Entry.Member) revert AlreadyCommitted(roundId, msg.sender);
        entries[msg.sender] = uint256(Entry.Committed) << 248 | _low248(commitment);
        emit ScoresCommitted(roundId, msg.sender, commitment);
        if (++r.scoreCommits == r.drawn) _closeStage(roundId, r);
    }

    /// @notice Reveals one WAD score (0..1e18) per revealed output, in ascending order of the output
    ///         nodes' addresses, and the evaluator's cost.
    function revealScores(uint256 roundId, uint64[] calldata scores, RewardMath.Cost calldata cost, bytes32 salt)
        external
    {
        Round storage r = _round(roundId);
        _advance(roundId, r);
        _expectStage(roundId, r, Stage.ScoreReveal);
        mapping(address => uint256) storage entries = _evaluations[roundId];
        uint256 word = entries[msg.sender];
        Entry entry = _entry(word);
        if (entry == Entry.None) revert NotInCommittee(roundId, msg.sender);
        if (entry == Entry.Member) revert NotCommitted(roundId, msg.sender);
        if (entry == Entry.Revealed) revert AlreadyRevealed(roundId, msg.sender);
        if (scores.length != r.reveals) revert ScoreCountMismatch(r.reveals, scores.length);
        for (uint256 i; i < scores.length; ++i) {
            if (scores[i] > WAD) revert ScoreOutOfRange(i, scores[i]);
        }
        RewardMath.Cost memory c = cost;
        bytes32 expected = keccak256(
            abi.encode(block.chainid, address(this), roundId, msg.sender, keccak256(abi.encode(scores)), c, salt)
        );
        if (_low248(expected) != word & type(uint248).max) revert CommitmentMismatch(roundId, msg.sender);
        entries[msg.sender] = uint256(Entry.Revealed) << 248 | _low248(keccak256(abi.encode(scores, c)));
        emit ScoresRevealed(roundId, msg.sender, scores, c);
        if (++r.scoreReveals == r.scoreCommits) _closeStage(roundId, r);
    }

    /// @notice Settles a round once scoring has closed (anyone may call): credits every reward,
    ///         slashes those who committed and never revealed and the drawn members who never
    ///         committed, and refunds the rest to the requester; a requester that withheld its
    ///         reference forfeits the unpaid pools to the nodes that did their part, and when no
    ///         member revealed, the evaluator pool goes to the revealed outputs.
    /// @dev `s` comes from the round's events and is checked against storage, so only the one
    ///      true settlement passes (see `Settlement`).
    function settle(uint256 roundId, Settlement calldata s) external {
        Round storage r = _round(roundId);
        _advance(roundId, r);
        _expectStage(roundId, r, Stage.Settleable);
        r.stage = Stage.Settled;
        Params storage p = _params[r.paramsVersion];
        _checkAscending(s.outputs, r.reveals);
        _checkAscending(s.silent, uint256(r.commits) - r.reveals);
        _checkAscending(s.committee, r.drawn);
        if (s.cards.length != s.committee.length) revert WrongCount(s.committee.length, s.cards.length);
        bool[] memory revealed = _revealedCards(roundId, s);
        uint256[] memory quality = _quality(r, p, revealed, s.cards);

        Payouts memory t;
        t.inferencePool = uint256(r.budget) * p.inferenceShare / WAD;
        t.evaluatorPool = r.budget - t.inferencePool;
        t.withheld = r.hasReference && !r.referenceRevealed && r.reveals != 0;
        t.doers = new address[](s.committee.length);
        t.share = t.inferencePool / r.slots;
        _payInference(roundId, p, s, quality, t);
        t.memberShare = t.evaluatorPool / r.committeeSize;
        _payCommittee(roundId, p, s, revealed, quality, t);
        // Forfeits: a withheld reference gives each pool's remainder to those who did their part
        // (the evaluator pool's to the revealed outputs if no member revealed); a round that nobody
        // scored gives the evaluator pool to the revealed outputs.
        uint256 paid = t.paidInference + t.paidEvaluators;
        if (t.withheld || r.scoreReveals == 0) {
            address[] memory outs = s.outputs;
            uint256 evaluatorLeft = t.evaluatorPool - t.paidEvaluators;
            if (t.withheld) paid += _compensate(roundId, outs, outs.length, t.inferencePool - t.paidInference);
            if (t.doerCount != 0) paid += _compensate(roundId, t.doers, t.doerCount, evaluatorLeft);
            else paid += _compensate(roundId, outs, outs.length, evaluatorLeft);
        }
        uint256 refund = r.budget - paid;
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

    /// @notice An inference node's entry in `roundId`: its state and, once revealed, its attested cost.
    function submission(uint256 roundId, address node)
        external
        view
        returns (Entry entry, RewardMath.Cost memory cost)
    {
        uint256 word = _submissions[roundId][node];
        entry = _entry(word);
        if (entry == Entry.Revealed) cost = RewardMath.Cost(uint64(word >> 128), uint64(word >> 64), uint64(word));
    }

    /// @notice An evaluator's entry in `roundId` (`None`: not drawn).
    function evaluation(uint256 roundId, address evaluator) external view returns (Entry) {
        return _entry(_evaluations[roundId][evaluator]);
    }

    /// @notice What `evaluator` weighs in the committee draw of round `roundId` (0: not drawable):
    ///         stake that predates the round, if it is at least the round's minimum stake.
    function drawWeight(uint256 roundId, address evaluator) external view returns (uint256) {
        Round storage r = _round(roundId);
        if (nodes[evaluator].setIndex == 0) return 0;
        return _drawWeight(evaluator, r.openedAt, _params[r.paramsVersion].minStake);
    }
}
