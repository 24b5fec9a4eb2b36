// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Vm, Cheats} from "../Vm.sol";
import {IPoQCommon} from "../IPoQCommon.sol";
import {Sorted} from "../Sorted.sol";
import {PoQ} from "../../../contracts/PoQ.sol";
import {RewardMath} from "../../../contracts/RewardMath.sol";
import {ReentrantRequester} from "./ReentrantRequester.sol";

// The properties, by number: each has its own violation record, kept by `PoQCampaign` and asserted
// by `PoQInvariants` (file-level, so that both contracts name the same constants).
uint8 constant SOLVENCY = 0;
uint8 constant INFERENCE_SEATS = 1;
uint8 constant COMMITTEE_SEATS = 2;
uint8 constant SHARES = 3;
uint8 constant LIVENESS = 4;
uint8 constant ELIGIBILITY = 5;
uint8 constant HOSTILE = 6;
uint8 constant PROPERTIES = 7;

/// @title PoQCampaign: the adversarial campaign's actors, actions and ghost state, written once
/// @notice One handler drives one PoQ deployment on behalf of every actor: honest inference nodes,
///         evaluators and requesters beside attackers (two inference nodes, two evaluators, a
///         requester EOA, and two re-entrant requester contracts, one of which rejects payment).
///         Every external function of PoQ is reached with hostile arguments: zero, repeated and
///         copied commitments, reveals of another node's commitment, calls in the wrong stage or
///         after deadlines, exits and stake changes mid-round, registrations just before a draw,
///         withheld reveals, owner parameter changes (valid and invalid) mid-round, dust and huge
///         budgets, forged settlement lists and scorecards, re-entrant withdrawals.
/// @dev The ghost records what the campaign expects: who committed and revealed what, with which
///      salts and scores, the ETH that went in and out, who was eligible when each round opened.
///      A broken property is recorded (`_violate`), never reverted, since forge discards reverting
///      calls; `PoQInvariants` asserts the records after every call. Where v1 and v2 differ in ABI
///      (`openRound`'s Task, `revealReference`, `settle`, `setParams`, the views), a version
///      adapter implements the virtual hooks at the bottom; everything else is shared.
abstract contract PoQCampaign is Cheats {
    /*//////////////////////////////////////////////////////////////
                                  STRUCTS
    //////////////////////////////////////////////////////////////*/

    /// @notice A round as the contract stores it, version-neutral.
    struct RoundView {
        PoQ.Stage stage;
        bool expired;
        uint256 deadline;
        uint256 commits;
        uint256 reveals;
        uint256 scoreCommits;
        uint256 scoreReveals;
        uint256 drawn;
        uint256 budget;
    }

    /// @notice A node as the contract stores it, version-neutral.
    struct NodeView {
        uint8 role;
        uint256 stake;
        bool exiting;
    }

    /// @notice The campaign's record of one round.
    struct GRound {
        address requester;
        uint256 budget;
        uint8 slots;
        uint8 k;
        uint32 version;
        uint256 openBlock;
        bytes32 taskHash;
        bytes32 refSalt;
        bool hasRef;
        bool refRevealed;
        bool drawn;
        bool settled;
        address[] committers;
        address[] revealed;
        address[] committee;
        address[] scorers;
    }

    /// @notice The campaign's record of one node in one round (an output or a committee entry).
    /// @param commitCalls commit calls that succeeded (more than one: a seat held twice)
    /// @param opens the handler holds a preimage of `commitment` made for this node
    /// @param valid that preimage is one the contract must accept at reveal (scores in range, right count)
    struct GEntry {
        uint8 commitCalls;
        bool revealed;
        bool opens;
        bool valid;
        bytes32 commitment;
        bytes32 salt;
        bytes32 outputSeed;
        RewardMath.Cost cost;
        uint64[] scores;
    }

    /// @notice What one settlement credited, read from its events.
    struct Credits {
        address[] to;
        uint256[] amount;
        uint8[] kind;
        uint256 count;
        uint256 paid;
        uint256 refund;
        bool settledEvent;
    }

    /*//////////////////////////////////////////////////////////////
                                 CONSTANTS
    //////////////////////////////////////////////////////////////*/

    uint256 internal constant WAD = 1e18;

    /// @notice Roles as uint8, so that invalid ones (0, 3) can be asked for too.
    uint8 internal constant ROLE_INFERENCE = uint8(PoQ.Role.Inference);
    uint8 internal constant ROLE_EVALUATOR = uint8(PoQ.Role.Evaluator);

    /// @notice Credit kinds in a settlement's events.
    uint8 internal constant PAID_INFERENCE = 0;
    uint8 internal constant PAID_EVALUATOR = 1;
    uint8 internal constant COMPENSATED = 2;
    uint8 internal constant SLASHED = 3;

    /// @notice The most rounds one campaign run opens (keeps every per-call check bounded).
    uint256 internal constant MAX_ROUNDS = 40;

    /// @notice The most rounds in flight at once (so that the honest network carries rounds through).
    uint256 internal constant MAX_IN_FLIGHT = 6;

    /// @notice The most settlements one run writes to the log.
    uint256 internal constant MAX_LOGGED_PER_RUN = 30;

    /// @notice The most fresh evaluators registered mid-run ("just before a draw").
    uint256 internal constant MAX_FRESH = 6;

    /// @notice EIP-170's limit on deployed code. Both versions' via-IR builds fit under it (20,391 and
    ///         17,043 bytes); the unoptimised build forge also makes for the campaign's profile does not
    ///         (39,772 bytes for PoQ), so a deployment above it attacked the wrong bytecode.
    uint256 internal constant MAX_CODE_SIZE = 24_576;

    /// @notice Selected above the contract's bounds to reach its limits (v2: MAX_WINDOW, MAX_UNBONDING).
    uint32 internal constant TOO_LONG_WINDOW = 50_401;
    uint32 internal constant TOO_LONG_UNBONDING = 201_601;

    /*//////////////////////////////////////////////////////////////
                                  STORAGE
    //////////////////////////////////////////////////////////////*/

    /// @notice The deployment under attack.
    address public poq;

    /// @notice Inference nodes; the last two are attackers.
    address[] public inference;

    /// @notice Evaluators: six from the start (the last two attackers), then fresh registrants.
    address[] public evaluators;

    /// @notice Requesters: two honest EOAs, an attacker EOA, then the two re-entrant contracts.
    address[] public requesters;

    /// @notice Every account PoQ may owe something (nodes, requesters, the owner, address(0)).
    address[] internal _accounts;

    /// @notice Re-entrant requester contracts (called through `exec`, not pranked).
    mapping(address => bool) internal _isContractActor;

    /// @notice Parameter sets the campaign put in force, by version, and the current version.
    mapping(uint32 => PoQ.Params) internal _gParams;
    uint32 public gVersion;

    /// @notice Block of each node's latest registration (0: not registered) and its role.
    mapping(address => uint256) public gRegBlock;
    mapping(address => uint8) public gRole;

    /// @notice Rounds, by id (1..gRounds), and the ids not yet settled.
    mapping(uint256 => GRound) internal _gRounds;
    uint256 public gRounds;
    uint256[] internal _unsettled;

    /// @notice Inference and committee entries, by round and node.
    mapping(uint256 => mapping(address => GEntry)) internal _gOut;
    mapping(uint256 => mapping(address => GEntry)) internal _gEval;

    /// @notice Whether an evaluator was drawable when the round opened: registered in an earlier
    ///         block, at least the round's minimum stake, not exiting.
    mapping(uint256 => mapping(address => bool)) internal _gEligibleAtOpen;

    /// @notice Wei that went into PoQ (stakes, budgets) and out of it (withdrawals), as expected.
    uint256 public gIn;
    uint256 public gOut;

    /// @notice Broken properties: how many times each broke and the first account of it.
    uint256[PROPERTIES] public violations;
    string[PROPERTIES] internal _firstViolation;

    /// @notice Where each settlement's JSON line goes (empty: not logged); see tests/contract/test_forge.py.
    string public logPath;

    /// @notice Lines this run has logged (each invariant's campaign logs its own runs, so a cap keeps the log small).
    uint256 internal _logged;

    /*//////////////////////////////////////////////////////////////
                                CONSTRUCTOR
    //////////////////////////////////////////////////////////////*/

    constructor() {
        PoQ.Params memory p = _initialParams();
        poq = _deploy(p);
        require(poq.code.length <= MAX_CODE_SIZE, "deployed an unoptimised build: deploy from the via-IR artifact");
        _gParams[1] = p;
        gVersion = 1;
        logPath = vm.envOr("POQ_CAMPAIGN_LOG", string(""));
        for (uint256 i; i < 6; ++i) {
            inference.push(_actor("inference", i));
            evaluators.push(_actor("evaluator", i));
        }
        for (uint256 i; i < 3; ++i) {
            requesters.push(_actor("requester", i));
        }
        for (uint256 i; i < 2; ++i) {
            address r = address(new ReentrantRequester(poq, i == 1));
            _isContractActor[r] = true;
            requesters.push(r);
        }
        for (uint256 i; i < 6; ++i) {
            _accounts.push(inference[i]);
            _accounts.push(evaluators[i]);
        }
        for (uint256 i; i < requesters.length; ++i) {
            _accounts.push(requesters[i]);
        }
        _accounts.push(address(this));
        _accounts.push(address(0));
        // Every node, the attackers among them, starts registered so that rounds can open at once;
        // fresh evaluators register as they go (`registerJustBeforeDraw`), and any node may leave and rejoin.
        for (uint256 i; i < 6; ++i) {
            _doRegister(inference[i], ROLE_INFERENCE, 3 * p.minStake);
            _doRegister(evaluators[i], ROLE_EVALUATOR, p.minStake * (i + 1));
        }
        vm.roll(vm.getBlockNumber() + 1);
    }

    /// @notice The owner (this handler) is credited slashes and withdraws them.
    receive() external payable {}

    /*//////////////////////////////////////////////////////////////
                         ACTIONS: NODES AND MONEY
    //////////////////////////////////////////////////////////////*/

    /// @notice Any actor registers with any role (0 and 3 are invalid) and a stake from dust to huge.
    function register(uint256 actorSeed, uint256 roleSeed, uint256 amountSeed) external {
        address a = _anyNode(actorSeed);
        uint8 role = uint8(roleSeed % 4);
        uint256 amount = _stakeAmount(amountSeed);
        // (Above uint96 v2 must refuse, v1 holds uint128: a truncated stake would break solvency, not this.)
        bool expected = gRegBlock[a] == 0 && (role == ROLE_INFERENCE || role == ROLE_EVALUATOR)
            && amount >= _gParams[gVersion].minStake;
        (bool ok,) = _call(a, amount, abi.encodeCall(IPoQCommon.register, (role)));
        if (ok) {
            _recordRegistration(a, role, amount);
            if (!expected) _violate(HOSTILE, string.concat("register accepted for ", vm.toString(a)));
        }
    }

    /// @notice A fresh evaluator registers in the block where a round's committee is about to be
    ///         drawn, then that round is pushed to its draw in the same block.
    function registerJustBeforeDraw(uint256 roundSeed, uint256 amountSeed) external {
        if (evaluators.length >= 6 + MAX_FRESH) return;
        address a = _actor("fresh", evaluators.length);
        evaluators.push(a);
        _accounts.push(a);
        uint256 amount = _gParams[gVersion].minStake * (1 + amountSeed % 40);
        uint256 id = _pickRound(roundSeed, amountSeed % 2 == 0 ? PoQ.Stage.Reveal : PoQ.Stage.Reference);
        RoundView memory r = _roundView(id);
        if ((r.stage == PoQ.Stage.Reveal || r.stage == PoQ.Stage.Reference) && vm.getBlockNumber() <= r.deadline) {
            vm.roll(r.deadline + 1);
        }
        _doRegister(a, ROLE_EVALUATOR, amount);
        _call(address(this), 0, abi.encodeCall(IPoQCommon.advance, (id)));
        _sync(id);
    }

    /// @notice Any actor adds dust, a normal amount or a huge one to its stake (unregistered: revert).
    function addStake(uint256 actorSeed, uint256 amountSeed) external {
        address a = _anyNode(actorSeed);
        uint256 amount = amountSeed % 3 == 0 ? amountSeed % 1000 : _stakeAmount(amountSeed);
        (bool ok,) = _call(a, amount, abi.encodeCall(IPoQCommon.addStake, ()));
        if (ok) {
            gIn += amount;
            if (gRegBlock[a] == 0) _violate(HOSTILE, string.concat("addStake accepted from unregistered ", vm.toString(a)));
        }
    }

    /// @notice Any actor starts exiting, in the middle of whatever rounds it is in.
    function requestExit(uint256 actorSeed) external {
        _call(_anyNode(actorSeed), 0, abi.encodeCall(IPoQCommon.requestExit, ()));
    }

    /// @notice Any actor tries to finish exiting; on success its stake becomes withdrawable.
    function completeExit(uint256 actorSeed) external {
        _completeExit(_anyNode(actorSeed));
    }

    function _completeExit(address a) internal {
        (bool ok,) = _call(a, 0, abi.encodeCall(IPoQCommon.completeExit, ()));
        if (ok) {
            gRegBlock[a] = 0;
            gRole[a] = 0;
        }
    }

    /// @notice Any account (the owner and the re-entrant requesters included) withdraws what it is owed.
    function withdraw(uint256 actorSeed) external {
        address a = _accounts[actorSeed % _accounts.length];
        if (a == address(0)) return;
        uint256 owed = IPoQCommon(poq).balances(a);
        uint256 before = poq.balance;
        (bool ok,) = _call(a, 0, abi.encodeCall(IPoQCommon.withdraw, ()));
        if (ok) {
            gOut += owed;
            if (before - poq.balance != owed) {
                _violate(SOLVENCY, string.concat("withdraw by ", vm.toString(a), " paid ", vm.toString(before - poq.balance),
                    " of ", vm.toString(owed), " owed"));
            }
        }
        if (_isContractActor[a] && ReentrantRequester(payable(a)).reentrySuccesses() != 0) {
            _violate(SOLVENCY, string.concat("re-entrant withdraw paid ", vm.toString(a), " twice"));
        }
    }

    /// @notice The chain moves on: mostly a block, now and then a stage window, rarely far past every deadline.
    function roll(uint256 seed) external {
        uint256 mode = seed % 20;
        uint256 blocks = mode < 17 ? 1 : mode < 19 ? 1 + (seed >> 8) % 12 : 1 + (seed >> 8) % 120;
        vm.roll(vm.getBlockNumber() + blocks);
    }

    /// @notice Anyone pushes a round past its passed deadlines.
    function advance(uint256 roundSeed, uint256 callerSeed) external {
        uint256 id = _pickRound(roundSeed, PoQ.Stage.None);
        _call(_anyone(callerSeed), 0, abi.encodeCall(IPoQCommon.advance, (id)));
        _sync(id);
    }

    /*//////////////////////////////////////////////////////////////
                         ACTIONS: GOVERNANCE
    //////////////////////////////////////////////////////////////*/

    /// @notice The owner puts new valid parameters in force mid-round, or tries invalid ones;
    ///         a non-owner tries too. Rounds in flight must keep the parameters they opened with.
    function setParams(uint256 seed, uint256 modeSeed) external {
        uint256 mode = modeSeed % 14;
        PoQ.Params memory p = _randomParams(seed);
        address caller = address(this);
        if (mode == 4) caller = requesters[seed % requesters.length];
        else if (mode == 5) p.alphaInference = uint64(WAD + 1 + seed % 1000);
        else if (mode == 6) p.inferenceShare = uint64(WAD + 1);
        else if (mode == 7) p.inferenceCost.wLatency += 1;
        else if (mode == 8) p.evaluatorCost.refTokens = 0;
        else if (mode == 9) p.revealWindow = 0;
        else if (mode == 10) p.scoreCommitWindow = TOO_LONG_WINDOW;
        else if (mode == 11) p.unbondingBlocks = TOO_LONG_UNBONDING;
        else if (mode == 12) p.slashAmount = p.minStake + 1;
        else if (mode == 13) p.minBudget = 0;
        (bytes memory data, bool expressible) = _setParamsCall(p);
        if (!expressible) return;
        (bool ok,) = _call(caller, 0, data);
        if (ok) {
            gVersion += 1;
            _gParams[gVersion] = p;
            if (mode >= 4) {
                _violate(HOSTILE, string.concat("setParams accepted ", mode == 4 ? "a call from a non-owner" : "invalid parameters",
                    " (mode ", vm.toString(mode), ")"));
            }
        } else if (mode < 4) {
            _violate(HOSTILE, "setParams rejected valid parameters from the owner");
        }
    }

    /// @notice The owner tries to renounce (slashes would go to address(0)); a non-owner tries to take over.
    function ownership(uint256 seed) external {
        if (seed % 2 == 0) {
            (bool ok,) = _call(address(this), 0, abi.encodeCall(IPoQCommon.renounceOwnership, ()));
            if (ok) _violate(HOSTILE, "renounceOwnership accepted: slashes would be credited to address(0)");
        } else {
            address thief = _anyNode(seed >> 8);
            (bool ok,) = _call(thief, 0, abi.encodeCall(IPoQCommon.transferOwnership, (thief)));
            if (ok) _violate(HOSTILE, "transferOwnership accepted from a non-owner");
        }
    }

    /*//////////////////////////////////////////////////////////////
                           ACTIONS: ROUNDS
    //////////////////////////////////////////////////////////////*/

    /// @notice A requester (honest, attacker, or re-entrant contract) opens a round with a dust,
    ///         normal or huge budget, any slot and committee size, with or without a reference,
    ///         under the current or a stale parameter version.
    function openRound(uint256 requesterSeed, uint256 budgetSeed, uint256 shapeSeed, uint256 refSeed) external {
        if (gRounds >= MAX_ROUNDS || _unsettled.length >= MAX_IN_FLIGHT) return;
        address requester = requesters[requesterSeed % requesters.length];
        PoQ.Params storage p = _gParams[gVersion];
        uint256 budget = _budget(budgetSeed, p.minBudget);
        // The Task as v2 takes it (v1's adapter drops the parameter version).
        PoQ.Task memory o;
        o.uri = "data:,campaign task";
        o.kind = "qa";
        o.slots = uint8(shapeSeed % 16 == 0 ? (shapeSeed >> 4) % 70 : 1 + (shapeSeed >> 4) % 6);
        uint256 setSize = _evaluatorSetSize();
        o.committeeSize = uint8(shapeSeed % 16 == 1 ? (shapeSeed >> 12) % 20 : 1 + (shapeSeed >> 12) % (setSize == 0 ? 1 : setSize));
        o.taskHash = keccak256(abi.encode("task", gRounds + 1, shapeSeed));
        bytes32 refSalt = keccak256(abi.encode("reference salt", refSeed));
        bool hasRef = refSeed % 2 == 0;
        if (hasRef) o.referenceCommitment = _referenceCommitment(requester, o.taskHash, _referenceAnswer(o.taskHash), refSalt);
        bool stale = (requesterSeed >> 8) % 10 == 0 && gVersion > 1;
        o.paramsVersion = stale ? gVersion - 1 : gVersion;
        (bytes memory data, bool versioned) = _openRoundCall(o);
        (bool ok, bytes memory ret) = _call(requester, budget, data);
        if (!ok) return;
        uint256 id = abi.decode(ret, (uint256));
        gIn += budget;
        _recordOpen(id, requester, budget, o, hasRef, refSalt);
        if (stale && versioned) _violate(HOSTILE, "openRound accepted a stale parameter version");
        if (budget < p.minBudget) {
            _violate(HOSTILE, string.concat("openRound accepted a dust budget of ", vm.toString(budget), " wei"));
        }
        if (o.slots == 0 || o.slots > 64 || o.committeeSize == 0 || o.committeeSize > 16 || o.committeeSize > setSize) {
            _violate(HOSTILE, "openRound accepted an impossible round shape");
        }
    }

    /// @notice An inference node commits honestly to an output, a cost and a secret salt.
    function commitOutput(uint256 actorSeed, uint256 roundSeed, uint256 workSeed) external {
        _commitOutput(_pickRound(roundSeed, PoQ.Stage.Commit), actorSeed, workSeed);
    }

    function _commitOutput(uint256 id, uint256 actorSeed, uint256 workSeed) internal {
        address node = _pick(inference, _gOut[id], actorSeed, true);
        RewardMath.Cost memory c = _cost(workSeed);
        bytes32 salt = keccak256(abi.encode("output salt", workSeed));
        bytes32 outSeed = keccak256(abi.encode("output", workSeed));
        bytes32 commitment = _outputCommitment(id, node, outSeed, c, salt);
        (bool ok, GEntry storage e) = _commitOwn(id, node, commitment, salt, c, false);
        if (ok) {
            e.valid = true;
            e.outputSeed = outSeed;
        }
        _sync(id);
    }

    /// @notice An attacker commits zero (0), its own commitment again (1), another node's commitment
    ///         (2), or garbage it can never open, a reveal it withholds (3); or tries to fill every
    ///         slot of the round with zero commitments before its real one (4).
    function commitOutputHostile(uint256 actorSeed, uint256 roundSeed, uint256 modeSeed) external {
        uint256 id = _pickRound(roundSeed, PoQ.Stage.Commit);
        address node = inference[4 + actorSeed % 2];
        uint256 mode = modeSeed % 5;
        uint256 attempts = mode == 4 ? _gRounds[id].slots : 1;
        for (uint256 i; i < attempts; ++i) {
            _commitHostile(id, node, mode == 4 ? (i + 1 == attempts ? 3 : 0) : mode, modeSeed >> 8, false);
        }
        _sync(id);
    }

    /// @notice A committer reveals its own preimage (a node that is never picked withholds its reveal).
    function revealOutput(uint256 actorSeed, uint256 roundSeed) external {
        _revealOwn(_pickRound(roundSeed, PoQ.Stage.Reveal), actorSeed, false);
    }

    /// @notice An attacker reveals another node's preimage as its own (mode 0), its own with a wrong
    ///         salt (1), or its own again: twice, or one it cannot open, or without committing (2).
    function revealOutputHostile(uint256 actorSeed, uint256 roundSeed, uint256 modeSeed) external {
        _revealHostile(_pickRound(roundSeed, PoQ.Stage.Reveal), inference[4 + actorSeed % 2], modeSeed, false);
    }

    /// @notice The requester reveals its reference honestly (modes 0-2), or someone forges: another
    ///         caller (3), the wrong answer (4), the wrong task hash (5); or a round without a reference.
    function revealReference(uint256 roundSeed, uint256 modeSeed) external {
        _revealReference(_pickRound(roundSeed, PoQ.Stage.Reference), modeSeed);
    }

    function _revealReference(uint256 id, uint256 modeSeed) internal {
        GRound storage g = _gRounds[id];
        uint256 mode = modeSeed % 6;
        address caller = mode == 3 ? _anyone(modeSeed >> 8) : g.requester;
        if (caller == address(0)) caller = requesters[0];
        bytes32 taskHash = mode == 5 ? keccak256(abi.encode(modeSeed)) : g.taskHash;
        string memory answer = mode == 4 ? "a forged reference" : _referenceAnswer(g.taskHash);
        (bytes memory data, bool checksHash) = _revealReferenceCall(id, taskHash, answer, g.refSalt);
        if (mode == 5 && !checksHash) return;
        bool allowed = caller == g.requester && mode != 4 && mode != 5 && g.hasRef && !g.refRevealed;
        (bool ok,) = _call(caller, 0, data);
        if (ok) {
            if (!allowed) _violate(HOSTILE, string.concat("revealReference accepted a forged reveal (mode ", vm.toString(mode), ")"));
            g.refRevealed = true;
        }
        _sync(id);
    }

    /// @notice A drawn member commits honestly to one score per revealed output, in the contract's
    ///         order; now and then its scores are out of range or miscounted, so its reveal must fail.
    function commitScores(uint256 actorSeed, uint256 roundSeed, uint256 workSeed) external {
        _commitScores(_pickRound(roundSeed, PoQ.Stage.ScoreCommit), actorSeed, workSeed);
    }

    function _commitScores(uint256 id, uint256 actorSeed, uint256 workSeed) internal {
        GRound storage g = _gRounds[id];
        address member = g.committee.length == 0 ? _anyEvaluator(actorSeed) : _pick(g.committee, _gEval[id], actorSeed, true);
        uint256 n = g.revealed.length;
        uint256 mode = workSeed % 16;
        uint64[] memory scores = new uint64[](mode == 15 ? n + 1 : n);
        for (uint256 i; i < scores.length; ++i) {
            uint256 s = uint256(keccak256(abi.encode(workSeed, i)));
            scores[i] = uint64(mode == 0 ? 0 : mode == 1 ? WAD : s % (WAD + 1));
        }
        if (mode == 14 && n != 0) scores[0] = uint64(WAD + 1);
        RewardMath.Cost memory c = _cost(workSeed >> 16);
        bytes32 salt = keccak256(abi.encode("score salt", workSeed));
        bytes32 commitment = _scoresCommitment(id, member, scores, c, salt);
        (bool ok, GEntry storage e) = _commitOwn(id, member, commitment, salt, c, true);
        if (ok) {
            e.valid = mode < 14 || n == 0 && mode == 14;
            e.scores = scores;
        }
        _sync(id);
    }

    /// @notice An attacker member commits zero (0), its own commitment again (1), another member's
    ///         (2), or garbage (3); or commits zero K times, to close the stage as the only scorer
    ///         (4); or an outsider (an evaluator not drawn, an inference node) tries to take a seat (5).
    function commitScoresHostile(uint256 actorSeed, uint256 roundSeed, uint256 modeSeed) external {
        uint256 id = _pickRound(roundSeed, PoQ.Stage.ScoreCommit);
        GRound storage g = _gRounds[id];
        uint256 mode = modeSeed % 6;
        address member;
        if (mode == 5) member = actorSeed % 2 == 0 ? inference[actorSeed % 6] : _anyEvaluator(actorSeed);
        else member = g.committee.length == 0 ? evaluators[4 + actorSeed % 2] : g.committee[actorSeed % g.committee.length];
        uint256 attempts = mode == 4 ? g.k : 1;
        for (uint256 i; i < attempts; ++i) {
            _commitHostile(id, member, mode == 4 ? 0 : mode == 5 ? 3 : mode, modeSeed >> 8, true);
        }
        _sync(id);
    }

    /// @notice A member that committed reveals its own scores (one that is never picked stays silent).
    function revealScores(uint256 actorSeed, uint256 roundSeed) external {
        _revealOwn(_pickRound(roundSeed, PoQ.Stage.ScoreReveal), actorSeed, true);
    }

    /// @notice An attacker member reveals another member's scores as its own, a wrong salt, or twice.
    function revealScoresHostile(uint256 actorSeed, uint256 roundSeed, uint256 modeSeed) external {
        uint256 id = _pickRound(roundSeed, PoQ.Stage.ScoreReveal);
        GRound storage g = _gRounds[id];
        address attacker = g.committee.length == 0 ? evaluators[4 + actorSeed % 2] : g.committee[actorSeed % g.committee.length];
        _revealHostile(id, attacker, modeSeed, true);
    }

    /// @dev `node` commits `commitment` to round `id`'s outputs or, with `scores`, to its scores; a
    ///      success is recorded (`_recordCommit`).
    function _commitCall(uint256 id, address node, bytes32 commitment, bool scores) internal returns (bool ok) {
        bytes memory data = scores
            ? abi.encodeCall(IPoQCommon.commitScores, (id, commitment))
            : abi.encodeCall(IPoQCommon.commitOutput, (id, commitment));
        (ok,) = _call(node, 0, data);
        if (ok) _recordCommit(id, node, commitment, scores);
    }

    /// @dev An honest commit: on success `node`'s entry holds the preimage's salt and cost, so that it opens.
    function _commitOwn(uint256 id, address node, bytes32 commitment, bytes32 salt, RewardMath.Cost memory c, bool scores)
        internal
        returns (bool ok, GEntry storage e)
    {
        e = _entries(id, scores)[node];
        ok = _commitCall(id, node, commitment, scores);
        if (ok) {
            e.opens = true;
            e.salt = salt;
            e.cost = c;
        }
    }

    /// @dev One hostile commit of an output or, with `scores`, of scores (see `_hostileCommitment`).
    function _commitHostile(uint256 id, address node, uint256 mode, uint256 pick, bool scores) internal {
        _commitCall(id, node, _hostileCommitment(_committed(id, scores), _entries(id, scores), node, mode, pick), scores);
    }

    /// @dev A committer of an output or, with `scores`, of scores reveals its own preimage; the
    ///      contract must accept it only if the preimage opens (and, for scores, is valid).
    function _revealOwn(uint256 id, uint256 actorSeed, bool scores) internal {
        address[] storage committed = _committed(id, scores);
        if (committed.length == 0) return _touch(id, actorSeed);
        address node = _pick(committed, _entries(id, scores), actorSeed, false);
        GEntry storage e = _entries(id, scores)[node];
        (bool ok,) = _call(node, 0, _revealData(id, e, 0, scores));
        if (ok) {
            if (!e.opens || e.revealed || scores && !e.valid) {
                _violate(HOSTILE, string.concat(scores ? "revealScores accepted an invalid reveal from "
                    : "revealOutput accepted without a valid preimage from ", vm.toString(node)));
            }
            if (!scores) _gRounds[id].revealed.push(node);
            e.revealed = true;
        }
        _sync(id);
    }

    /// @dev `attacker` reveals another committer's preimage as its own (mode 0), its own with a wrong
    ///      salt (1), or its own again: twice, or one it cannot open, or without committing (2).
    function _revealHostile(uint256 id, address attacker, uint256 modeSeed, bool scores) internal {
        address[] storage committed = _committed(id, scores);
        uint256 mode = modeSeed % 3;
        GEntry storage mine = _entries(id, scores)[attacker];
        GEntry storage source = mine;
        if (mode == 0 && committed.length != 0) source = _entries(id, scores)[committed[(modeSeed >> 8) % committed.length]];
        // Only the attacker's own openable (for scores: valid), unrevealed preimage with the right salt may pass.
        bool allowed = mode != 1 && _isSame(source, mine) && mine.opens && (mine.valid || !scores) && !mine.revealed;
        (bool ok,) = _call(attacker, 0, _revealData(id, source, mode == 1 ? 1 : 0, scores));
        if (ok) {
            if (!allowed) {
                _violate(HOSTILE, string.concat(scores ? "revealScores" : "revealOutput", " accepted a forged reveal (mode ",
                    vm.toString(mode), ")"));
            }
            if (!scores && !mine.revealed) _gRounds[id].revealed.push(attacker);
            mine.revealed = true;
        }
        _sync(id);
    }

    /// @notice Anyone settles a round with the true lists; every property of one settlement is checked.
    function settle(uint256 roundSeed, uint256 callerSeed) external {
        uint256 id = _pickRound(roundSeed, PoQ.Stage.Settleable);
        _settleHonestly(id, _anyone(callerSeed), false);
    }

    /// @notice The honest network: every round in flight is taken one honest step further, as its
    ///         stage asks (a commit, a reveal, the reference, a score commit or reveal, the
    ///         settlement, raced by a forged one), and one honest node sees to its upkeep
    ///         (`_maintain`). One step in eight is withheld instead. Attackers act between these calls.
    function playRound(uint256 seed) external {
        _maintain(seed >> 128);
        uint256[] memory ids = _unsettled;
        for (uint256 i; i < ids.length; ++i) {
            uint256 step = uint256(keccak256(abi.encode(seed, i)));
            if (step % 8 != 0) _honestStep(ids[i], step >> 8);
        }
    }

    function _honestStep(uint256 id, uint256 seed) internal {
        RoundView memory r = _roundView(id);
        if (r.expired) {
            _touch(id, seed);
            r = _roundView(id);
        }
        if (r.stage == PoQ.Stage.Commit) _commitOutput(id, seed, seed >> 16);
        else if (r.stage == PoQ.Stage.Reveal) _revealOwn(id, seed, false);
        else if (r.stage == PoQ.Stage.Reference) _revealReference(id, 0);
        else if (r.stage == PoQ.Stage.ScoreCommit) _commitScores(id, seed, seed >> 16);
        else if (r.stage == PoQ.Stage.ScoreReveal) _revealOwn(id, seed, true);
        else if (r.stage == PoQ.Stage.Settleable) {
            // Every settlement the network makes is raced by a forged one.
            _settleForged(id, seed >> 32);
            if (!_gRounds[id].settled) _settleHonestly(id, _anyone(seed), false);
        }
    }

    /// @dev An honest node keeps itself in the network: it rejoins after leaving, finishes an exit,
    ///      or, below twice the current minimum stake (slashed, or the minimum raised), tops up to three times it.
    function _maintain(uint256 seed) internal {
        uint256 i = seed % (inference.length + evaluators.length);
        address a = _nodeActor(i);
        uint256 minStake = _gParams[gVersion].minStake;
        NodeView memory n = _node(a);
        if (gRole[a] == 0) {
                _doRegister(a, i < inference.length ? ROLE_INFERENCE : ROLE_EVALUATOR, 2 * minStake);
        } else if (n.exiting) {
            _completeExit(a);
        } else if (n.stake < 2 * minStake) {
                (bool ok,) = _call(a, 3 * minStake - n.stake, abi.encodeCall(IPoQCommon.addStake, ()));
            if (ok) gIn += 3 * minStake - n.stake;
        }
    }

    /// @notice Anyone settles with forged lists: unsorted, missing, extra or duplicated entries, an
    ///         outsider in place of an output or a member, a silent node passed off as revealed,
    ///         a forged scorecard. None may pass.
    function settleForged(uint256 roundSeed, uint256 modeSeed) external {
        _settleForged(_pickRound(roundSeed, PoQ.Stage.Settleable), modeSeed);
    }

    function _settleForged(uint256 id, uint256 modeSeed) internal {
        if (id == 0 || id > gRounds || !_settleTakesLists()) return;
        PoQ.Settlement memory s = _trueLists(id);
        if (!_forge(s, id, modeSeed)) return;
        (bytes memory data,) = _settleCall(id, s);
        (bool ok,) = _call(_anyone(modeSeed >> 16), 0, data);
        if (ok) {
            _violate(HOSTILE, string.concat("settle accepted forged lists (mode ", vm.toString(modeSeed % 12), ") for round ", vm.toString(id)));
            _markSettled(id);
        }
        _sync(id);
    }

    /*//////////////////////////////////////////////////////////////
                         END OF A RUN (afterInvariant)
    //////////////////////////////////////////////////////////////*/

    /// @notice Rolls past every deadline, stage by stage, and settles every open round with the
    ///         true lists. Returns the first round that could not be settled (0: all settled).
    function settleEverything() external returns (uint256 stuck) {
        uint256 longest = 1;
        for (uint32 v = 1; v <= gVersion; ++v) {
            PoQ.Params storage p = _gParams[v];
            uint256 w = _max(_max(p.commitWindow, p.revealWindow), _max(p.referenceWindow, _max(p.scoreCommitWindow, p.scoreRevealWindow)));
            longest = _max(longest, w);
        }
        for (uint256 step; step < 6; ++step) {
            vm.roll(vm.getBlockNumber() + longest + 1);
            for (uint256 i; i < _unsettled.length; ++i) {
                uint256 id = _unsettled[i];
                _call(address(this), 0, abi.encodeCall(IPoQCommon.advance, (id)));
                _sync(id);
            }
        }
        while (_unsettled.length != 0) {
            uint256 id = _unsettled[_unsettled.length - 1];
            if (!_settleHonestly(id, address(this), true)) return id;
        }
    }

    /*//////////////////////////////////////////////////////////////
                        VIEWS FOR THE INVARIANTS
    //////////////////////////////////////////////////////////////*/

    /// @notice The first account of a broken property (empty when it never broke).
    function firstViolation(uint8 property) external view returns (string memory) {
        return _firstViolation[property];
    }

    /// @notice (PoQ's ETH balance, stakes + withdrawable balances + unsettled budgets as PoQ stores them).
    function accountedFor() external view returns (uint256 held, uint256 owed) {
        held = poq.balance;
        for (uint256 i; i < _accounts.length; ++i) {
            owed += _node(_accounts[i]).stake + IPoQCommon(poq).balances(_accounts[i]);
        }
        for (uint256 id = 1; id <= gRounds; ++id) {
            RoundView memory r = _roundView(id);
            if (r.stage != PoQ.Stage.Settled) owed += r.budget;
        }
    }

    /// @notice The first round whose stored output commits differ from the distinct committers the
    ///         campaign saw, or exceed its slots (0: none), and what is wrong.
    function outputSeatCounts() external view returns (uint256 badRound, string memory why) {
        for (uint256 id = 1; id <= gRounds; ++id) {
            RoundView memory r = _roundView(id);
            GRound storage g = _gRounds[id];
            if (r.commits != g.committers.length || r.commits > g.slots) {
                return (id, string.concat("round ", vm.toString(id), " counts ", vm.toString(r.commits),
                    " output commits from ", vm.toString(g.committers.length), " distinct nodes for ", vm.toString(g.slots), " slots"));
            }
        }
    }

    /// @notice The first round whose stored score commits differ from the distinct members the
    ///         campaign saw, or exceed the drawn committee, or whose committee exceeds K (0: none).
    function committeeSeatCounts() external view returns (uint256 badRound, string memory why) {
        for (uint256 id = 1; id <= gRounds; ++id) {
            RoundView memory r = _roundView(id);
            GRound storage g = _gRounds[id];
            if (r.scoreCommits != g.scorers.length || r.scoreCommits > r.drawn || r.drawn > g.k) {
                return (id, string.concat("round ", vm.toString(id), " counts ", vm.toString(r.scoreCommits),
                    " score commits from ", vm.toString(g.scorers.length), " distinct members of ", vm.toString(r.drawn),
                    " drawn (K = ", vm.toString(g.k), ")"));
            }
        }
    }

    /// @notice The actions forge may call (see `PoQInvariants.targetSelectors`).
    function actions() external pure returns (bytes4[] memory s) {
        s = new bytes4[](23);
        s[0] = this.register.selector;
        s[1] = this.registerJustBeforeDraw.selector;
        s[2] = this.addStake.selector;
        s[3] = this.requestExit.selector;
        s[4] = this.completeExit.selector;
        s[5] = this.withdraw.selector;
        s[6] = this.roll.selector;
        s[7] = this.advance.selector;
        s[8] = this.setParams.selector;
        s[9] = this.ownership.selector;
        s[10] = this.openRound.selector;
        s[11] = this.commitOutput.selector;
        s[12] = this.commitOutputHostile.selector;
        s[13] = this.revealOutput.selector;
        s[14] = this.revealOutputHostile.selector;
        s[15] = this.revealReference.selector;
        s[16] = this.commitScores.selector;
        s[17] = this.commitScoresHostile.selector;
        s[18] = this.revealScores.selector;
        s[19] = this.revealScoresHostile.selector;
        s[20] = this.settle.selector;
        s[21] = this.settleForged.selector;
        s[22] = this.playRound.selector;
    }

    /*//////////////////////////////////////////////////////////////
                      INTERNAL: CALLS AND RECORDS
    //////////////////////////////////////////////////////////////*/

    /// @dev Calls PoQ as `sender` with `value` (pranked EOA, this owner, or through a contract actor).
    function _call(address sender, uint256 value, bytes memory data) internal returns (bool ok, bytes memory ret) {
        if (_isContractActor[sender]) {
            vm.deal(address(this), address(this).balance + value);
            (ok, ret) = sender.call{value: value}(abi.encodeCall(ReentrantRequester.exec, (data)));
            if (ok) ret = abi.decode(ret, (bytes));
        } else if (sender == address(this)) {
            vm.deal(address(this), address(this).balance + value);
            (ok, ret) = poq.call{value: value}(data);
        } else {
            vm.deal(sender, sender.balance + value);
            vm.prank(sender);
            (ok, ret) = poq.call{value: value}(data);
        }
    }

    function _violate(uint8 property, string memory what) internal {
        if (violations[property]++ == 0) _firstViolation[property] = what;
    }

    function _doRegister(address a, uint8 role, uint256 amount) internal {
        (bool ok,) = _call(a, amount, abi.encodeCall(IPoQCommon.register, (role)));
        if (ok) _recordRegistration(a, role, amount);
    }

    function _recordRegistration(address a, uint8 role, uint256 amount) internal {
        gIn += amount;
        gRegBlock[a] = vm.getBlockNumber();
        gRole[a] = role;
    }

    function _recordOpen(uint256 id, address requester, uint256 budget, PoQ.Task memory o, bool hasRef, bytes32 refSalt)
        internal
    {
        gRounds = id;
        _unsettled.push(id);
        GRound storage g = _gRounds[id];
        g.requester = requester;
        g.budget = budget;
        g.slots = o.slots;
        g.k = o.committeeSize;
        g.version = gVersion;
        g.openBlock = vm.getBlockNumber();
        g.taskHash = o.taskHash;
        g.hasRef = hasRef;
        g.refSalt = refSalt;
        uint256 minStake = _gParams[gVersion].minStake;
        address[] memory nodes = _nodeActors();
        for (uint256 i; i < nodes.length; ++i) {
            address e = nodes[i];
            NodeView memory n = _node(e);
            _gEligibleAtOpen[id][e] = gRole[e] == ROLE_EVALUATOR && gRegBlock[e] < g.openBlock && n.stake >= minStake && !n.exiting;
        }
    }

    /// @dev Records a successful commit; a second one by the same node in the same round is a seat held twice.
    function _recordCommit(uint256 id, address node, bytes32 commitment, bool scores) internal returns (GEntry storage e) {
        GRound storage g = _gRounds[id];
        e = scores ? _gEval[id][node] : _gOut[id][node];
        e.commitCalls += 1;
        if (e.commitCalls > 1) {
            string memory what = string.concat(scores ? "committee member " : "inference node ", vm.toString(node),
                " committed ", vm.toString(e.commitCalls), " times to round ", vm.toString(id),
                commitment == bytes32(0) ? " (this time a zero commitment)" : "",
                e.commitment == bytes32(0) ? " after a zero commitment" : "");
            _violate(scores ? COMMITTEE_SEATS : INFERENCE_SEATS, what);
        } else if (scores) {
            g.scorers.push(node);
        } else {
            g.committers.push(node);
        }
        e.commitment = commitment;
        e.opens = false;
        e.valid = false;
    }

    /// @dev Reads a round after a call that touched it: the first time its committee shows, checks
    ///      every member was drawable (eligible at open, still registered since, staked at the draw).
    function _sync(uint256 id) internal {
        if (id == 0 || id > gRounds) return;
        GRound storage g = _gRounds[id];
        if (g.drawn) return;
        RoundView memory r = _roundView(id);
        // Past Reveal with outputs revealed, a round has been through its draw (possibly drawing nobody).
        if (r.stage < PoQ.Stage.ScoreCommit || r.reveals == 0) return;
        g.drawn = true;
        address[] memory members = _committeeOf(id);
        uint256 minStake = _gParams[g.version].minStake;
        for (uint256 i; i < members.length; ++i) {
            address m = members[i];
            for (uint256 j; j < i; ++j) {
                if (members[j] == m) _violate(COMMITTEE_SEATS, string.concat("committee of round ", vm.toString(id), " seats ", vm.toString(m), " twice"));
            }
            NodeView memory n = _node(m);
            if (!_gEligibleAtOpen[id][m] || gRegBlock[m] >= g.openBlock || n.stake < minStake || n.exiting) {
                _violate(ELIGIBILITY, string.concat("round ", vm.toString(id), " (opened at block ", vm.toString(g.openBlock),
                    ") drew ", vm.toString(m), ", registered at block ", vm.toString(gRegBlock[m]), " with stake ",
                    vm.toString(n.stake), " (minimum ", vm.toString(minStake), ")"));
            }
        }
        g.committee = Sorted.addresses(members);
    }

    function _touch(uint256 id, uint256 callerSeed) internal {
        _call(_anyone(callerSeed), 0, abi.encodeCall(IPoQCommon.advance, (id)));
        _sync(id);
    }

    function _markSettled(uint256 id) internal {
        _gRounds[id].settled = true;
        for (uint256 i; i < _unsettled.length; ++i) {
            if (_unsettled[i] == id) {
                _unsettled[i] = _unsettled[_unsettled.length - 1];
                _unsettled.pop();
                return;
            }
        }
    }

    /*//////////////////////////////////////////////////////////////
                      INTERNAL: SETTLEMENT AND ITS CHECKS
    //////////////////////////////////////////////////////////////*/

    /// @dev Settles `id` with the true lists as `caller`; on success checks every credit. An honest
    ///      settlement may be refused only as too early (`WrongStage`, alike in v1), and at the end
    ///      not at all.
    function _settleHonestly(uint256 id, address caller, bool final_) internal returns (bool ok) {
        if (id == 0 || id > gRounds || _gRounds[id].settled) {
                _call(caller, 0, _settleData(id, _emptyLists()));
            return false;
        }
        PoQ.Settlement memory s = _trueLists(id);
        uint256[] memory before = _balancesNow();
        uint256[] memory stakes = _stakesNow();
        vm.recordLogs();
        bytes memory ret;
        (ok, ret) = _call(caller, 0, _settleData(id, s));
        Vm.Log[] memory logs = vm.getRecordedLogs();
        if (!ok) {
            if (final_ || ret.length < 4 || bytes4(ret) != PoQ.WrongStage.selector) {
                _violate(LIVENESS, string.concat("honest settle of round ", vm.toString(id), " reverted with selector ",
                    vm.toString(ret.length < 4 ? 0 : uint256(uint32(bytes4(ret)))), final_ ? " after every deadline" : ""));
            }
            _sync(id);
            return false;
        }
        _markSettled(id);
        Credits memory c = _credits(id, logs);
        _checkSettlement(id, s, c, before);
        if (bytes(logPath).length != 0 && _logged < MAX_LOGGED_PER_RUN) {
            _logged += 1;
            _log(id, s, c, stakes);
        }
    }

    function _settleData(uint256 id, PoQ.Settlement memory s) internal view returns (bytes memory data) {
        (data,) = _settleCall(id, s);
    }

    function _emptyLists() internal pure returns (PoQ.Settlement memory s) {
        s.outputs = new address[](0);
        s.silent = new address[](0);
        s.committee = new address[](0);
        s.cards = new PoQ.Scorecard[](0);
    }

    /// @dev The one true settlement of `id` from the ghost: revealed outputs, silent committers and
    ///      the drawn committee, each ascending, and each member's revealed card.
    function _trueLists(uint256 id) internal view returns (PoQ.Settlement memory s) {
        GRound storage g = _gRounds[id];
        s.outputs = Sorted.addresses(g.revealed);
        uint256 silentCount = g.committers.length - g.revealed.length;
        address[] memory silent = new address[](silentCount);
        uint256 j;
        for (uint256 i; i < g.committers.length; ++i) {
            if (!_gOut[id][g.committers[i]].revealed) silent[j++] = g.committers[i];
        }
        s.silent = Sorted.addresses(silent);
        s.committee = g.committee;
        s.cards = new PoQ.Scorecard[](g.committee.length);
        for (uint256 i; i < g.committee.length; ++i) {
            GEntry storage e = _gEval[id][g.committee[i]];
            if (e.revealed) {
                s.cards[i].scores = e.scores;
                s.cards[i].cost = e.cost;
            } else {
                s.cards[i].scores = new uint64[](0);
            }
        }
    }

    /// @dev Turns true lists into a forgery that differs from them; false when the mode has nothing
    ///      to forge. Each forgery keeps every check but the one it aims at satisfied where it can
    ///      (counts kept, lists re-sorted, cards moved with their members).
    function _forge(PoQ.Settlement memory s, uint256 id, uint256 modeSeed) internal view returns (bool) {
        uint256 mode = modeSeed % 12;
        uint256 pick = modeSeed >> 8;
        if (mode == 0) return _swapFirstTwo(s.outputs);
        if (mode == 1) {
            // Unsorted committee, cards swapped along: only the order check can refuse it.
            if (!_swapFirstTwo(s.committee)) return false;
            (s.cards[0], s.cards[1]) = (s.cards[1], s.cards[0]);
            return true;
        }
        if (mode == 2) return _swapFirstTwo(s.silent);
        if (mode == 3) {
            if (s.outputs.length == 0) return false;
            s.outputs = _without(s.outputs, pick % s.outputs.length);
            return true;
        }
        if (mode == 4) {
            if (s.outputs.length == 0) return false;
            s.outputs = _with(s.outputs, s.outputs[s.outputs.length - 1]);
            return true;
        }
        if (mode == 5) {
            // A silent committer passed off as revealed and a revealed one as silent: counts kept.
            if (s.silent.length == 0 || s.outputs.length == 0) return false;
            (s.silent[0], s.outputs[0]) = (s.outputs[0], s.silent[0]);
            s.silent = Sorted.addresses(s.silent);
            s.outputs = Sorted.addresses(s.outputs);
            return true;
        }
        if (mode == 6) {
            // An outsider in place of a revealed output: count kept.
            bool forged;
            (forged, s.outputs) = _withOutsider(s.outputs, inference[pick % inference.length], pick);
            return forged;
        }
        if (mode == 7) {
            // An outsider evaluator in place of a drawn member: count kept.
            (bool forged, address[] memory committee) = _withOutsider(s.committee, evaluators[pick % evaluators.length], pick);
            if (!forged) return false;
            s.committee = committee;
            s.cards = _blankCards(committee.length);
            return true;
        }
        // Duplicates in place of another entry, counts kept (paying one node twice, another never).
        if (mode == 8) return _duplicateFirst(s.outputs);
        if (mode == 9) return _duplicateFirst(s.silent);
        if (mode == 10) {
            if (!_duplicateFirst(s.committee)) return false;
            s.cards[1] = s.cards[0];
            return true;
        }
        // A forged scorecard for a member that revealed.
        for (uint256 i; i < s.committee.length; ++i) {
            if (_gEval[id][s.committee[i]].revealed && s.cards[i].scores.length != 0) {
                s.cards[i].scores[0] = s.cards[i].scores[0] == 0 ? 1 : s.cards[i].scores[0] - 1;
                return true;
            }
        }
        return false;
    }

    /// @dev `list` with `outsider` in place of its entry `pick`, re-sorted; `forged` false (and `list`
    ///      as it was) when the list is empty or already holds `outsider`.
    function _withOutsider(address[] memory list, address outsider, uint256 pick)
        internal
        pure
        returns (bool forged, address[] memory out)
    {
        if (list.length == 0 || _contains(list, outsider)) return (false, list);
        list[pick % list.length] = outsider;
        return (true, Sorted.addresses(list));
    }

    function _blankCards(uint256 n) internal pure returns (PoQ.Scorecard[] memory cards) {
        cards = new PoQ.Scorecard[](n);
        for (uint256 i; i < n; ++i) {
            cards[i].scores = new uint64[](0);
        }
    }

    /// @dev Reads one settlement's credits from its events, as v2 declares them (v1 emits the same
    ///      events, but no `Compensated`).
    function _credits(uint256 id, Vm.Log[] memory logs) internal view returns (Credits memory c) {
        c.to = new address[](logs.length);
        c.amount = new uint256[](logs.length);
        c.kind = new uint8[](logs.length);
        for (uint256 i; i < logs.length; ++i) {
            Vm.Log memory l = logs[i];
            if (l.emitter != poq || l.topics.length < 2 || uint256(l.topics[1]) != id) continue;
            bytes32 t = l.topics[0];
            if (t == PoQ.RoundSettled.selector) {
                (c.paid, c.refund) = abi.decode(l.data, (uint256, uint256));
                c.settledEvent = true;
                continue;
            }
            uint8 kind;
            uint256 amount;
            if (t == PoQ.InferencePaid.selector || t == PoQ.EvaluatorPaid.selector) {
                (,,, amount) = abi.decode(l.data, (uint256, uint256, uint256, uint256));
                kind = t == PoQ.InferencePaid.selector ? PAID_INFERENCE : PAID_EVALUATOR;
            } else if (t == PoQ.Compensated.selector || t == PoQ.Slashed.selector) {
                amount = abi.decode(l.data, (uint256));
                kind = t == PoQ.Slashed.selector ? SLASHED : COMPENSATED;
            } else {
                continue;
            }
            c.to[c.count] = address(uint160(uint256(l.topics[2])));
            c.amount[c.count] = amount;
            c.kind[c.count] = kind;
            c.count += 1;
        }
    }

    /// @dev Nobody is credited more than their share: each output at most inferencePool/slots, each
    ///      member at most evaluatorPool/K, compensation only to those who did their part and only
    ///      from what the pools left unpaid, slashes only of the silent and absent; paid + refund is
    ///      the budget; and every balance moved by exactly what the events say.
    function _checkSettlement(uint256 id, PoQ.Settlement memory s, Credits memory c, uint256[] memory before) internal {
        GRound storage g = _gRounds[id];
        PoQ.Params storage p = _gParams[g.version];
        uint256 inferencePool = g.budget * p.inferenceShare / WAD;
        uint256 evaluatorPool = g.budget - inferencePool;
        uint256[4] memory total;
        for (uint256 i; i < c.count; ++i) {
            address to = c.to[i];
            uint256 amount = c.amount[i];
            uint8 kind = c.kind[i];
            total[kind] += amount;
            if (kind == PAID_INFERENCE && (!_contains(s.outputs, to) || amount > inferencePool / g.slots)) {
                _share(id, "an inference payout above inferencePool/slots or to a node that did not reveal", to, amount);
            } else if (kind == PAID_EVALUATOR && (!_gEval[id][to].revealed || amount > evaluatorPool / g.k)) {
                _share(id, "an evaluator payout above evaluatorPool/K or to a member that did not reveal", to, amount);
            } else if (kind == COMPENSATED && !_contains(s.outputs, to) && !_gEval[id][to].revealed) {
                _share(id, "compensation to a node that did not do its part", to, amount);
            } else if (kind == SLASHED && (!_slashable(s, id, to) || amount > p.slashAmount)) {
                _share(id, "a slash of a node that was not silent or absent, or above slashAmount", to, amount);
            }
            if (_creditedBefore(c, i) > (kind == COMPENSATED ? 1 : 0)) {
                _share(id, "one node credited (or slashed) twice for the same part", to, amount);
            }
        }
        if (!c.settledEvent || c.paid + c.refund != g.budget) {
            _share(id, string.concat("paid ", vm.toString(c.paid), " + refund ", vm.toString(c.refund), " is not the budget ",
                vm.toString(g.budget)), address(0), 0);
        }
        if (total[PAID_INFERENCE] + total[PAID_EVALUATOR] + total[COMPENSATED] != c.paid) {
            _share(id, "the credited payouts do not add up to the paid amount", address(0), c.paid);
        }
        uint256 rewarded = total[PAID_INFERENCE] + total[PAID_EVALUATOR];
        if (rewarded > g.budget || total[COMPENSATED] > g.budget - rewarded) {
            _share(id, "rewards and compensation beyond the budget's pools", address(0), rewarded + total[COMPENSATED]);
        }
        _checkBalanceMoves(id, c, before, total[SLASHED]);
    }

    /// @dev Every account's balance moved by what the events credit it: the requester its refund,
    ///      the owner the slashes, nodes their payouts and compensation, nobody else anything.
    function _checkBalanceMoves(uint256 id, Credits memory c, uint256[] memory before, uint256 slashed) internal {
        address requester = _gRounds[id].requester;
        address owner_ = IPoQCommon(poq).owner();
        for (uint256 a; a < _accounts.length; ++a) {
            address who = _accounts[a];
            uint256 expected = before[a];
            if (who == requester) expected += c.refund;
            if (who == owner_) expected += slashed;
            for (uint256 i; i < c.count; ++i) {
                if (c.to[i] == who && c.kind[i] != SLASHED) expected += c.amount[i];
            }
            uint256 actual = IPoQCommon(poq).balances(who);
            if (actual != expected) {
                _share(id, string.concat("balance moved by other than its credits: ", vm.toString(actual), " != expected ",
                    vm.toString(expected)), who, actual);
            }
        }
    }

    /// @dev A silent committer, or a drawn member that did not reveal.
    function _slashable(PoQ.Settlement memory s, uint256 id, address who) internal view returns (bool) {
        return _contains(s.silent, who) || _contains(s.committee, who) && !_gEval[id][who].revealed;
    }

    /// @dev Earlier credits of the same kind to the same node in this settlement (compensation
    ///      may come twice: from each pool's remainder).
    function _creditedBefore(Credits memory c, uint256 i) internal pure returns (uint256 n) {
        for (uint256 j; j < i; ++j) {
            if (c.to[j] == c.to[i] && c.kind[j] == c.kind[i]) n += 1;
        }
    }

    function _share(uint256 id, string memory what, address who, uint256 amount) internal {
        _violate(SHARES, string.concat("round ", vm.toString(id), ": ", what, " (", vm.toString(who), ", ", vm.toString(amount), ")"));
    }

    function _balancesNow() internal view returns (uint256[] memory b) {
        b = new uint256[](_accounts.length);
        for (uint256 i; i < b.length; ++i) {
            b[i] = IPoQCommon(poq).balances(_accounts[i]);
        }
    }

    function _stakesNow() internal view returns (uint256[] memory b) {
        b = new uint256[](_accounts.length);
        for (uint256 i; i < b.length; ++i) {
            b[i] = _node(_accounts[i]).stake;
        }
    }

    /*//////////////////////////////////////////////////////////////
                INTERNAL: THE SETTLEMENT LOG (Python replays it)
    //////////////////////////////////////////////////////////////*/

    /// @dev One JSON line: what the reference model needs (parameters, budget, shape, outputs with
    ///      their raw costs in score order, committee with states, scores and costs, silent nodes,
    ///      stakes before settling, whether the reference was withheld) and what the contract credited.
    function _log(uint256 id, PoQ.Settlement memory s, Credits memory c, uint256[] memory stakes) internal {
        GRound storage g = _gRounds[id];
        string memory line = string.concat(
            '{"adapter":"', _adapterName(), '","round":', vm.toString(id), ',"budget":', vm.toString(g.budget),
            ',"slots":', vm.toString(g.slots), ',"committee_size":', vm.toString(g.k),
            ',"reference_withheld":', g.hasRef && !g.refRevealed ? "true" : "false"
        );
        line = string.concat(line, ',"params":', _paramsJson(_gParams[g.version]), ',"outputs":', _outputsJson(id));
        line = string.concat(line, ',"silent":', _addressesJson(s.silent), ',"committee":', _committeeJson(id));
        line = string.concat(line, ',"stakes":', _stakesJson(stakes), ',"result":', _creditsJson(c), "}\n");
        vm.writeLine(logPath, line);
    }

    function _paramsJson(PoQ.Params storage p) internal view returns (string memory) {
        string memory a = string.concat(
            '{"alpha_inference":', vm.toString(p.alphaInference), ',"beta_inference":', vm.toString(p.betaInference),
            ',"alpha_evaluator":', vm.toString(p.alphaEvaluator), ',"beta_evaluator":', vm.toString(p.betaEvaluator),
            ',"inference_share":', vm.toString(p.inferenceShare), ',"min_stake":', vm.toString(p.minStake)
        );
        string memory b = string.concat(
            ',"min_budget":', vm.toString(p.minBudget), ',"slash_amount":', vm.toString(p.slashAmount),
            ',"aggregation":', vm.toString(uint8(p.aggregation)), ',"commit_window":', vm.toString(p.commitWindow),
            ',"reveal_window":', vm.toString(p.revealWindow), ',"reference_window":', vm.toString(p.referenceWindow)
        );
        string memory c = string.concat(
            ',"score_commit_window":', vm.toString(p.scoreCommitWindow), ',"score_reveal_window":',
            vm.toString(p.scoreRevealWindow), ',"unbonding_blocks":', vm.toString(p.unbondingBlocks),
            ',"inference_cost":', _modelJson(p.inferenceCost), ',"evaluator_cost":', _modelJson(p.evaluatorCost), "}"
        );
        return string.concat(a, b, c);
    }

    function _modelJson(RewardMath.CostModel storage m) internal view returns (string memory) {
        return string.concat(
            "[", vm.toString(m.wLatency), ",", vm.toString(m.wTokens), ",", vm.toString(m.wMemory), ",",
            vm.toString(m.refLatencyMs), ",", vm.toString(m.refTokens), ",", vm.toString(m.refMemoryMb), "]"
        );
    }

    function _costJson(RewardMath.Cost memory c) internal pure returns (string memory) {
        return string.concat("[", vm.toString(c.latencyMs), ",", vm.toString(c.tokens), ",", vm.toString(c.memoryMb), "]");
    }

    function _outputsJson(uint256 id) internal view returns (string memory out) {
        address[] memory order = _scoreOrder(id);
        out = "[";
        for (uint256 i; i < order.length; ++i) {
            out = string.concat(out, i == 0 ? "" : ",", '{"node":"', vm.toString(order[i]), '","cost":',
                _costJson(_gOut[id][order[i]].cost), "}");
        }
        out = string.concat(out, "]");
    }

    function _committeeJson(uint256 id) internal view returns (string memory out) {
        address[] storage committee = _gRounds[id].committee;
        out = "[";
        for (uint256 i; i < committee.length; ++i) {
            GEntry storage e = _gEval[id][committee[i]];
            string memory scores = "null";
            if (e.revealed) {
                scores = "[";
                for (uint256 j; j < e.scores.length; ++j) {
                    scores = string.concat(scores, j == 0 ? "" : ",", vm.toString(e.scores[j]));
                }
                scores = string.concat(scores, "]");
            }
            out = string.concat(out, i == 0 ? "" : ",", '{"node":"', vm.toString(committee[i]), '","committed":',
                e.commitCalls != 0 ? "true" : "false", ',"scores":', scores, ',"cost":', _costJson(e.cost), "}");
        }
        out = string.concat(out, "]");
    }

    function _addressesJson(address[] memory list) internal pure returns (string memory out) {
        out = "[";
        for (uint256 i; i < list.length; ++i) {
            out = string.concat(out, i == 0 ? '"' : ',"', vm.toString(list[i]), '"');
        }
        out = string.concat(out, "]");
    }

    function _stakesJson(uint256[] memory stakes) internal view returns (string memory out) {
        out = "{";
        bool first = true;
        for (uint256 i; i < _accounts.length; ++i) {
            if (gRegBlock[_accounts[i]] == 0 && stakes[i] == 0) continue;
            out = string.concat(out, first ? '"' : ',"', vm.toString(_accounts[i]), '":', vm.toString(stakes[i]));
            first = false;
        }
        out = string.concat(out, "}");
    }

    function _creditsJson(Credits memory c) internal pure returns (string memory) {
        string[4] memory parts = ["[", "[", "[", "["];
        bool[4] memory started;
        for (uint256 i; i < c.count; ++i) {
            uint8 k = c.kind[i];
            parts[k] = string.concat(parts[k], started[k] ? "," : "", '["', vm.toString(c.to[i]), '",', vm.toString(c.amount[i]), "]");
            started[k] = true;
        }
        return string.concat(
            '{"inference":', parts[0], '],"evaluators":', parts[1], '],"compensation":', parts[2], '],"slashes":',
            parts[3], '],"paid":', vm.toString(c.paid), ',"refund":', vm.toString(c.refund), "}"
        );
    }

    /*//////////////////////////////////////////////////////////////
                      INTERNAL: COMMITMENTS AND PICKS
    //////////////////////////////////////////////////////////////*/

    function _outputCommitment(uint256 id, address node, bytes32 outSeed, RewardMath.Cost memory c, bytes32 salt)
        internal
        view
        returns (bytes32)
    {
        return keccak256(abi.encode(block.chainid, poq, id, node, keccak256(_outputText(outSeed)), c, salt));
    }

    function _scoresCommitment(uint256 id, address member, uint64[] memory scores, RewardMath.Cost memory c, bytes32 salt)
        internal
        view
        returns (bytes32)
    {
        return keccak256(abi.encode(block.chainid, poq, id, member, keccak256(abi.encode(scores)), c, salt));
    }

    function _referenceCommitment(address requester, bytes32 taskHash, string memory answer, bytes32 salt)
        internal
        view
        returns (bytes32)
    {
        return keccak256(abi.encode(block.chainid, poq, requester, taskHash, keccak256(bytes(answer)), salt));
    }

    function _referenceAnswer(bytes32 taskHash) internal pure returns (string memory) {
        return string.concat("the reference answer to ", string(abi.encodePacked(uint64(uint256(taskHash)))));
    }

    function _outputText(bytes32 outSeed) internal pure returns (bytes memory) {
        return abi.encodePacked("an output ", outSeed);
    }

    /// @dev revealOutput or, with `scores`, revealScores calldata from `e`'s preimage (`saltDelta` 1: a
    ///      wrong salt, one bit flipped).
    function _revealData(uint256 id, GEntry storage e, uint256 saltDelta, bool scores) internal view returns (bytes memory) {
        bytes32 salt = bytes32(uint256(e.salt) ^ saltDelta);
        if (scores) return abi.encodeCall(IPoQCommon.revealScores, (id, e.scores, e.cost, salt));
        return abi.encodeCall(IPoQCommon.revealOutput, (id, string(_outputText(e.outputSeed)), e.cost, salt));
    }

    /// @dev Who committed to round `id`: its output committers or, with `scores`, its scorers.
    function _committed(uint256 id, bool scores) internal view returns (address[] storage) {
        return scores ? _gRounds[id].scorers : _gRounds[id].committers;
    }

    /// @dev Round `id`'s output entries or, with `scores`, its committee entries.
    function _entries(uint256 id, bool scores) internal view returns (mapping(address => GEntry) storage) {
        return scores ? _gEval[id] : _gOut[id];
    }

    /// @dev A hostile commitment: zero (0), the node's own again (1), another committer's (2), or garbage (3).
    function _hostileCommitment(
        address[] storage committed,
        mapping(address => GEntry) storage entries,
        address node,
        uint256 mode,
        uint256 pick
    ) internal view returns (bytes32) {
        if (mode == 0) return bytes32(0);
        if (mode == 1 && entries[node].commitCalls != 0) return entries[node].commitment;
        if (mode == 2 && committed.length != 0) return entries[committed[pick % committed.length]].commitment;
        return keccak256(abi.encode("garbage", node, pick));
    }

    function _isSame(GEntry storage a, GEntry storage b) internal pure returns (bool same) {
        assembly ("memory-safe") {
            same := eq(a.slot, b.slot)
        }
    }

    /// @dev A round for an action: now and then any id (settled, or none at all); otherwise an
    ///      unsettled round, preferring one in `stage` whose deadline has not passed.
    function _pickRound(uint256 seed, PoQ.Stage stage) internal view returns (uint256) {
        if (gRounds == 0) return 1;
        if (seed % 16 == 0) return (seed >> 4) % (gRounds + 2);
        uint256 n = _unsettled.length;
        if (n == 0) return 1 + (seed >> 4) % gRounds;
        uint256 start = (seed >> 4) % n;
        if (stage != PoQ.Stage.None) {
            for (uint256 i; i < n; ++i) {
                uint256 id = _unsettled[(start + i) % n];
                RoundView memory r = _roundView(id);
                if (r.stage == stage && (!r.expired || stage == PoQ.Stage.Settleable)) return id;
                if (stage == PoQ.Stage.Settleable && r.expired && r.stage == PoQ.Stage.ScoreReveal) return id;
            }
        }
        return _unsettled[start];
    }

    /// @dev Starting at `seed`, the first of `list` whose entry in `entries` is `fresh` (no commit yet)
    ///      or else openable and unrevealed (none: `list[seed]`).
    function _pick(address[] storage list, mapping(address => GEntry) storage entries, uint256 seed, bool fresh)
        internal
        view
        returns (address)
    {
        uint256 n = list.length;
        for (uint256 i; i < n; ++i) {
            address a = list[(seed % n + i) % n];
            GEntry storage e = entries[a];
            if (fresh ? e.commitCalls == 0 : e.opens && !e.revealed) return a;
        }
        return list[seed % n];
    }

    function _anyNode(uint256 seed) internal view returns (address) {
        return seed % 2 == 0 ? inference[(seed >> 1) % inference.length] : evaluators[(seed >> 1) % evaluators.length];
    }

    function _anyEvaluator(uint256 seed) internal view returns (address) {
        return evaluators[seed % evaluators.length];
    }

    function _anyone(uint256 seed) internal view returns (address) {
        address a = _accounts[seed % _accounts.length];
        return a == address(0) ? requesters[2] : a;
    }

    function _evaluatorSetSize() internal view returns (uint256 n) {
        for (uint256 i; i < inference.length + evaluators.length; ++i) {
            if (gRole[_nodeActor(i)] == ROLE_EVALUATOR && !_node(_nodeActor(i)).exiting) n += 1;
        }
    }

    /// @dev Every actor that may register (an inference actor may register as an evaluator, and the reverse).
    function _nodeActors() internal view returns (address[] memory nodes) {
        nodes = new address[](inference.length + evaluators.length);
        for (uint256 i; i < nodes.length; ++i) {
            nodes[i] = _nodeActor(i);
        }
    }

    function _nodeActor(uint256 i) internal view returns (address) {
        return i < inference.length ? inference[i] : evaluators[i - inference.length];
    }

    /*//////////////////////////////////////////////////////////////
                      INTERNAL: AMOUNTS AND PARAMETERS
    //////////////////////////////////////////////////////////////*/

    function _actor(string memory kind, uint256 i) internal pure returns (address) {
        return address(uint160(uint256(keccak256(abi.encode("poq campaign", kind, i)))));
    }

    /// @dev A stake: below the minimum, the minimum, a few times it, a whale's, or above uint96.
    function _stakeAmount(uint256 seed) internal view returns (uint256) {
        uint256 minStake = _gParams[gVersion].minStake;
        uint256 mode = seed % 8;
        if (mode == 0) return minStake - 1;
        if (mode == 1) return minStake;
        if (mode == 2) return uint256(type(uint96).max) + 1 + (seed >> 8) % 1000;
        if (mode == 3) return minStake * (20 + (seed >> 8) % 80);
        return minStake + (seed >> 8) % (3 * minStake);
    }

    /// @dev A budget: 1 wei, just below the floor, the floor, ordinary, or above uint96.
    function _budget(uint256 seed, uint256 minBudget) internal pure returns (uint256) {
        uint256 mode = seed % 10;
        if (mode == 0) return 1;
        if (mode == 1) return minBudget - 1;
        if (mode == 2) return minBudget;
        if (mode == 3) return uint256(type(uint96).max) + 1;
        if (mode == 4) return uint256(type(uint96).max);
        return minBudget + (seed >> 8) % 100 ether;
    }

    function _cost(uint256 seed) internal pure returns (RewardMath.Cost memory c) {
        if (seed % 32 == 0) return RewardMath.Cost(type(uint64).max, type(uint64).max, type(uint64).max);
        c.latencyMs = uint64(1 + (seed >> 8) % 10_000);
        c.tokens = uint64((seed >> 24) % 3_000);
        c.memoryMb = uint64(1 + (seed >> 40) % 8_000);
    }

    function _initialParams() internal pure returns (PoQ.Params memory p) {
        p.alphaInference = uint64(WAD);
        p.betaInference = uint64(WAD * 3 / 10);
        p.alphaEvaluator = uint64(WAD);
        p.betaEvaluator = uint64(WAD * 3 / 10);
        p.inferenceShare = uint64(WAD * 8 / 10);
        p.minStake = 1 ether;
        p.minBudget = 1e15;
        p.commitWindow = 12;
        p.revealWindow = 12;
        p.referenceWindow = 12;
        p.scoreCommitWindow = 12;
        p.scoreRevealWindow = 12;
        p.unbondingBlocks = 10;
        p.slashAmount = 0.5 ether;
        p.inferenceCost = RewardMath.CostModel(uint64(WAD / 2), uint64(WAD / 5), uint64(WAD * 3 / 10), 5_000, 256, 4_096);
        p.evaluatorCost = RewardMath.CostModel(uint64(WAD / 2), uint64(WAD / 5), uint64(WAD * 3 / 10), 2_000, 2_048, 4_096);
    }

    /// @dev A random valid parameter set (short windows, so that deadlines pass within a run).
    function _randomParams(uint256 seed) internal pure returns (PoQ.Params memory p) {
        uint256 r = uint256(keccak256(abi.encode(seed, "params")));
        p.alphaInference = uint64(r % (WAD + 1));
        p.betaInference = uint64((r >> 64) % (WAD + 1));
        r = uint256(keccak256(abi.encode(r)));
        p.alphaEvaluator = uint64(r % (WAD + 1));
        p.betaEvaluator = uint64((r >> 64) % (WAD + 1));
        p.inferenceShare = uint64((r >> 128) % (WAD + 1));
        r = uint256(keccak256(abi.encode(r)));
        p.minStake = uint96(1e15 + r % 2 ether);
        p.minBudget = uint96(1 + (r >> 96) % 1e17);
        p.slashAmount = uint96((r >> 160) % (uint256(p.minStake) + 1));
        r = uint256(keccak256(abi.encode(r)));
        p.commitWindow = uint32(1 + r % 24);
        p.revealWindow = uint32(1 + (r >> 8) % 24);
        p.referenceWindow = uint32(1 + (r >> 16) % 24);
        p.scoreCommitWindow = uint32(1 + (r >> 24) % 24);
        p.scoreRevealWindow = uint32(1 + (r >> 32) % 24);
        p.unbondingBlocks = uint32((r >> 40) % 30);
        p.aggregation = PoQ.Aggregation((r >> 48) % 2);
        p.inferenceCost = _randomModel(uint256(keccak256(abi.encode(r, 1))));
        p.evaluatorCost = _randomModel(uint256(keccak256(abi.encode(r, 2))));
    }

    function _randomModel(uint256 r) internal pure returns (RewardMath.CostModel memory m) {
        m.wLatency = uint64(r % (WAD + 1));
        m.wTokens = uint64((r >> 64) % (WAD - m.wLatency + 1));
        m.wMemory = uint64(WAD - m.wLatency - m.wTokens);
        m.refLatencyMs = uint64(1 + (r >> 128) % 10_000);
        m.refTokens = uint64(1 + (r >> 160) % 4_000);
        m.refMemoryMb = uint64(1 + (r >> 192) % 8_000);
    }

    /*//////////////////////////////////////////////////////////////
                           INTERNAL: LIST HELPERS
    //////////////////////////////////////////////////////////////*/

    function _contains(address[] memory list, address a) internal pure returns (bool) {
        for (uint256 i; i < list.length; ++i) {
            if (list[i] == a) return true;
        }
        return false;
    }

    function _with(address[] memory list, address a) internal pure returns (address[] memory out) {
        out = new address[](list.length + 1);
        for (uint256 i; i < list.length; ++i) {
            out[i] = list[i];
        }
        out[list.length] = a;
    }

    function _without(address[] memory list, uint256 index) internal pure returns (address[] memory out) {
        out = new address[](list.length - 1);
        uint256 j;
        for (uint256 i; i < list.length; ++i) {
            if (i != index) out[j++] = list[i];
        }
    }

    function _swapFirstTwo(address[] memory list) internal pure returns (bool) {
        if (list.length < 2) return false;
        (list[0], list[1]) = (list[1], list[0]);
        return true;
    }

    /// @dev `list[1] = list[0]`: a duplicate in place of the second entry.
    function _duplicateFirst(address[] memory list) internal pure returns (bool) {
        if (list.length < 2) return false;
        list[1] = list[0];
        return true;
    }

    function _max(uint256 a, uint256 b) internal pure returns (uint256) {
        return a > b ? a : b;
    }

    /*//////////////////////////////////////////////////////////////
                 HOOKS: WHERE THE TWO VERSIONS' ABIs DIFFER
    //////////////////////////////////////////////////////////////*/

    /// @notice "v2" or "v1", for the log and the report.
    function _adapterName() internal pure virtual returns (string memory);

    /// @notice Deploys the contract under attack with `p` as version 1; this handler is its owner.
    function _deploy(PoQ.Params memory p) internal virtual returns (address);

    /// @notice `setParams` calldata for `p`; `expressible` false when this version has no such field value.
    function _setParamsCall(PoQ.Params memory p) internal view virtual returns (bytes memory data, bool expressible);

    /// @notice `openRound` calldata for `o` (v2's Task); `versioned` true when this version's Task carries `o.paramsVersion`.
    function _openRoundCall(PoQ.Task memory o) internal view virtual returns (bytes memory data, bool versioned);

    /// @notice `revealReference` calldata; `checksHash` true when the call carries the task hash.
    function _revealReferenceCall(uint256 id, bytes32 taskHash, string memory answer, bytes32 salt)
        internal
        view
        virtual
        returns (bytes memory data, bool checksHash);

    /// @notice `settle` calldata with lists `s` (a version without lists ignores them).
    function _settleCall(uint256 id, PoQ.Settlement memory s) internal view virtual returns (bytes memory data, bool takesLists);

    /// @notice Whether `settle` takes the per-output lists (so forged lists can be tried).
    function _settleTakesLists() internal pure virtual returns (bool);

    /// @notice The round as stored.
    function _roundView(uint256 id) internal view virtual returns (RoundView memory);

    /// @notice The node as stored.
    function _node(address a) internal view virtual returns (NodeView memory);

    /// @notice The drawn committee of `id` (empty before the draw).
    function _committeeOf(uint256 id) internal view virtual returns (address[] memory);

    /// @notice The revealed outputs in the order scores follow.
    function _scoreOrder(uint256 id) internal view virtual returns (address[] memory);

    /// @dev The committers' reveal order, for `_scoreOrder` implementations.
    function _revealOrder(uint256 id) internal view returns (address[] memory) {
        return _gRounds[id].revealed;
    }
}
