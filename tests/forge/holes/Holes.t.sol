// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Cheats} from "../Vm.sol";
import {RoundsBase} from "./RoundsBase.sol";
import {V1Rounds} from "./V1Rounds.sol";
import {V2Rounds} from "./V2Rounds.sol";
import {Sorted} from "../Sorted.sol";

/// @notice forge's console (decoded into the test's logs): the grinding test prints its counts.
library Console {
    address internal constant CONSOLE = address(0x000000000000000000636F6e736F6c652e6c6f67);

    function log(string memory line) internal view {
        (bool ok,) = CONSOLE.staticcall(abi.encodeWithSignature("log(string)", line));
        ok;
    }
}

/// @title The seven holes of issue 10, each as an attack, written once against the adapter `RoundsBase`
/// @notice `HolesV2Test` runs every test against contracts/PoQ.sol, where each must pass;
///         `HolesV1Test` runs the same tests against the contract of dff63f8, where each must fail,
///         and fail at the assertion that names its hole (a message starting "HOLE"): that is the
///         proof that the test catches the hole. A step the attack needs to work on both versions
///         is asserted with a message starting "setup:", so a V1 failure there would not count
///         (tests/contract/test_forge_holes.py checks the reasons).
/// @dev Deterministic: every salt, prevrandao and choice comes from `_rand` over a fixed seed.
abstract contract Holes is Cheats {
    RoundsBase internal rounds;

    uint256 internal constant BUDGET = 1 ether;
    uint64 internal constant SCORE = 0.6e18;
    bytes32 internal constant REFERENCE_SALT = keccak256("the requester's reference salt");
    uint256 internal constant SEED = 0x5eed;

    /// @dev What a settlement may leave unassigned as rounding dust (a wei per payee and pool, with room).
    uint256 internal constant DUST = 16;

    address internal requester;

    /// @dev The block the test last rolled to. Tests read this, never `block.number`: via IR, the
    ///      optimizer may reuse one `block.number` read across `vm.roll` (it is constant in a real transaction).
    uint256 internal _height;

    /// @notice The adapter this instance runs against.
    function _newRounds() internal virtual returns (RoundsBase);

    function setUp() public {
        rounds = _newRounds();
        requester = _actor("requester", 0);
        _rollTo(100);
    }

    /*//////////////////////////////////////////////////////////////
                                  HELPERS
    //////////////////////////////////////////////////////////////*/

    function _rand(string memory tag, uint256 i) internal pure returns (uint256) {
        return uint256(keccak256(abi.encode(SEED, tag, i)));
    }

    function _actor(string memory role, uint256 i) internal pure returns (address) {
        return address(uint160(uint256(keccak256(abi.encode("actor", role, i)))));
    }

    function _nodes(string memory role, uint256 n, bool evaluator, uint256 stake)
        internal
        returns (address[] memory nodes)
    {
        nodes = new address[](n);
        for (uint256 i; i < n; ++i) {
            nodes[i] = _actor(role, i);
            assertTrue(rounds.register(nodes[i], evaluator, stake), "setup: register");
        }
    }

    function _node(string memory role, bool evaluator, uint256 stake) internal returns (address) {
        return _nodes(role, 1, evaluator, stake)[0];
    }

    /// @dev Moves to the next block with a fresh prevrandao (as a real chain's RANDAO changes).
    function _nextBlock() internal {
        _rollTo(_height + 1);
    }

    function _rollTo(uint256 height) internal {
        vm.roll(height);
        vm.prevrandao(bytes32(_rand("prevrandao", height)));
        _height = height;
    }

    function _pastDeadline(uint256 roundId) internal {
        _rollTo(rounds.deadline(roundId) + 1);
    }

    function _open(uint8 slots, uint8 k, bool withReference) internal returns (uint256 roundId) {
        bool ok;
        (ok, roundId) = rounds.open(
            requester, slots, k, BUDGET, withReference ? REFERENCE_SALT : bytes32(0), rounds.paramsVersion()
        );
        assertTrue(ok, "setup: open");
    }

    function _salt(uint256 roundId, address node) internal pure returns (bytes32) {
        return keccak256(abi.encode(SEED, "salt", roundId, node));
    }

    function _commitAll(uint256 roundId, address[] memory nodes) internal {
        for (uint256 i; i < nodes.length; ++i) {
            assertTrue(rounds.commitOutput(nodes[i], roundId, _salt(roundId, nodes[i])), "setup: commit output");
        }
    }

    function _revealAll(uint256 roundId, address[] memory nodes) internal {
        for (uint256 i; i < nodes.length; ++i) {
            assertTrue(rounds.revealOutput(nodes[i], roundId, _salt(roundId, nodes[i])), "setup: reveal output");
        }
    }

    /// @dev Every node commits then reveals; when no reference is pending, the last reveal draws the committee.
    function _outputs(uint256 roundId, address[] memory nodes) internal {
        _commitAll(roundId, nodes);
        _revealAll(roundId, nodes);
    }

    function _commitScores(uint256 roundId, address[] memory members) internal {
        for (uint256 j; j < members.length; ++j) {
            assertTrue(
                rounds.commitScores(members[j], roundId, SCORE, _salt(roundId, members[j])), "setup: commit scores"
            );
        }
    }

    function _revealScores(uint256 roundId, address[] memory members) internal {
        for (uint256 j; j < members.length; ++j) {
            assertTrue(
                rounds.revealScores(members[j], roundId, SCORE, _salt(roundId, members[j])), "setup: reveal scores"
            );
        }
    }

    /// @dev The setting of holes 1, 4 and 6: two honest evaluators, a third one named `odd` and one
    ///      inference node register; in the next block a round of one output and a committee of three
    ///      opens, and the node's revealed output draws the committee.
    function _committeeOfThree(string memory odd)
        internal
        returns (uint256 id, address[] memory honest, address third, address node)
    {
        honest = _nodes("evaluator", 2, true, 1 ether);
        third = _node(odd, true, 1 ether);
        node = _node("inference", false, 1 ether);
        _nextBlock();
        id = _open(1, 3, false);
        _outputs(id, _one(node));
    }

    function _one(address a) internal pure returns (address[] memory xs) {
        xs = new address[](1);
        xs[0] = a;
    }

    function _two(address a, address b) internal pure returns (address[] memory xs) {
        xs = new address[](2);
        xs[0] = a;
        xs[1] = b;
    }

    function _sum(address[] memory accounts) internal view returns (uint256 total) {
        for (uint256 i; i < accounts.length; ++i) {
            total += rounds.balanceOf(accounts[i]);
        }
    }

    /// @dev The committee as a set (sorted, hashed): v1 lists it in draw order, v2 in key order.
    function _committeeId(uint256 roundId) internal view returns (bytes32) {
        return keccak256(abi.encode(Sorted.addresses(rounds.committee(roundId))));
    }

    function _countMembers(uint256 roundId, address[] memory evaluators) internal view returns (uint256 n) {
        for (uint256 i; i < evaluators.length; ++i) {
            if (rounds.isMember(roundId, evaluators[i])) ++n;
        }
    }

    /*//////////////////////////////////////////////////////////////
                   HOLE 1: ZERO COMMITMENTS FILL A STAGE
    //////////////////////////////////////////////////////////////*/

    /// @notice Attack: one inference node commits zero n-1 times (a zero commitment passed v1's
    ///         "already committed" check yet counted a commit), then a real commitment: the slots
    ///         fill and the commit stage closes, locking every other node out of the round.
    function test_hole1_zeroCommitmentsCannotFillSlots() public {
        address[] memory honest = _nodes("honest", 2, false, 1 ether);
        address attacker = _node("attacker", false, 1 ether);
        _nodes("evaluator", 3, true, 1 ether);
        _nextBlock();
        uint256 id = _open(3, 3, false);

        rounds.commitOutputRaw(attacker, id, bytes32(0));
        rounds.commitOutputRaw(attacker, id, bytes32(0));
        rounds.commitOutput(attacker, id, _salt(id, attacker));

        for (uint256 i; i < honest.length; ++i) {
            assertTrue(
                rounds.commitOutput(honest[i], id, _salt(id, honest[i])),
                "HOLE1: zero commitments filled the round's slots and locked an honest node out"
            );
        }
    }

    /// @notice Attack: a committee member commits zero scores K-1 times, then real ones: score
    ///         commit closes with only its commitment, so it is the only scorer of the round (and
    ///         could zero every payout for a full refund to a requester it colludes with).
    function test_hole1_zeroScoreCommitsCannotCloseScoring() public {
        (uint256 id, address[] memory honest, address attacker,) = _committeeOfThree("attacker");
        assertEq(rounds.committee(id).length, 3, "setup: all three evaluators drawn");

        rounds.commitScoresRaw(attacker, id, bytes32(0));
        rounds.commitScoresRaw(attacker, id, bytes32(0));
        rounds.commitScores(attacker, id, 0, _salt(id, attacker));

        for (uint256 j; j < honest.length; ++j) {
            assertTrue(
                rounds.commitScores(honest[j], id, SCORE, _salt(id, honest[j])),
                "HOLE1: zero score commitments closed score commit and locked an honest member out"
            );
        }
    }

    /*//////////////////////////////////////////////////////////////
              HOLE 2: THE SENDER OF THE DRAWING CALL PICKS ITS BLOCK
    //////////////////////////////////////////////////////////////*/

    uint8 internal constant BY_LAST_REVEAL = 0;
    uint8 internal constant BY_REFERENCE = 1;
    uint8 internal constant BY_ADVANCE = 2;

    /// @dev Plays the call that draws the committee (`how`) in each of 16 blocks, each with its own
    ///      prevrandao, from snapshots, and checks that every block gives the same committee.
    function _drawInEveryBlock(uint256 id, uint8 how, address actor, uint256 from, address attackerEvaluator) internal {
        bytes32 first;
        uint256 distinct = 1;
        uint256 seats;
        for (uint256 d; d < 16; ++d) {
            uint256 snap = vm.snapshotState();
            _rollTo(from + d);
            bool ok;
            if (how == BY_LAST_REVEAL) ok = rounds.revealOutput(actor, id, _salt(id, actor));
            else if (how == BY_REFERENCE) ok = rounds.revealReference(id);
            else ok = rounds.advance(actor, id);
            assertTrue(ok, "setup: the drawing call");
            assertEq(rounds.stage(id), 4, "setup: the call drew the committee (ScoreCommit)");
            bytes32 c = _committeeId(id);
            if (rounds.isMember(id, attackerEvaluator)) ++seats;
            if (d == 0) first = c;
            else if (c != first) ++distinct;
            vm.revertToStateAndDelete(snap);
        }
        assertTrue(
            distinct == 1,
            string.concat(
                "HOLE2: the committee depends on the block of the call that draws it (",
                _str(seats),
                " of 16 blocks seat the attacker's evaluator)"
            )
        );
    }

    function _grindSetup() internal returns (address honestNode, address attackerNode, address attackerEvaluator) {
        _nodes("evaluator", 9, true, 1 ether);
        attackerEvaluator = _node("attacker evaluator", true, 1 ether);
        honestNode = _node("honest", false, 1 ether);
        attackerNode = _node("attacker", false, 1 ether);
        _nextBlock();
    }

    /// @notice Attack: the inference node that reveals last (its reveal draws the committee) picks,
    ///         among the blocks of the reveal window, one whose draw seats its own evaluator.
    function test_hole2_lastRevealBlockChoiceCannotSeatAttacker() public {
        (address honest, address attacker, address attackerEvaluator) = _grindSetup();
        uint256 id = _open(2, 3, false);
        _commitAll(id, _two(honest, attacker));
        _revealAll(id, _one(honest));
        _drawInEveryBlock(id, BY_LAST_REVEAL, attacker, _height, attackerEvaluator);
    }

    /// @notice Attack: a requester with its own evaluator picks the block of `revealReference`
    ///         (which draws the committee) to seat that evaluator in its own round.
    function test_hole2_referenceRevealBlockChoiceCannotSeatAttacker() public {
        (address honest, address attacker, address attackerEvaluator) = _grindSetup();
        uint256 id = _open(2, 3, true);
        _outputs(id, _two(honest, attacker));
        assertEq(rounds.stage(id), 3, "setup: reference stage");
        _drawInEveryBlock(id, BY_REFERENCE, requester, _height, attackerEvaluator);
    }

    /// @notice Attack: after a node stays silent past the reveal deadline, the attacker sends the
    ///         first call after it (`advance`, which draws the committee) in the block that suits it.
    function test_hole2_deadlineAdvanceBlockChoiceCannotSeatAttacker() public {
        (address honest, address attacker, address attackerEvaluator) = _grindSetup();
        address silent = _actor("silent", 0);
        assertTrue(rounds.register(silent, false, 1 ether), "setup: register");
        uint256 id = _open(3, 3, false);
        _commitAll(id, _two(honest, attacker));
        _commitAll(id, _one(silent));
        _revealAll(id, _two(honest, attacker));
        _drawInEveryBlock(id, BY_ADVANCE, attacker, rounds.deadline(id) + 1, attackerEvaluator);
    }

    /*//////////////////////////////////////////////////////////////
                     HOLE 3: THE REQUESTER WITHHOLDS ITS REFERENCE
    //////////////////////////////////////////////////////////////*/

    /// @dev A round of three revealed outputs and three evaluators whose requester never reveals its
    ///      reference; the committee is drawn once the reference window has passed.
    function _withheldRound() internal returns (uint256 id, address[] memory outputs, address[] memory members) {
        members = _nodes("evaluator", 3, true, 1 ether);
        outputs = _nodes("inference", 3, false, 1 ether);
        _nextBlock();
        id = _open(3, 3, true);
        _outputs(id, outputs);
        assertEq(rounds.stage(id), 3, "setup: reference stage");
        _pastDeadline(id); // the requester stays silent
        assertTrue(rounds.advance(outputs[0], id), "setup: advance");
        assertEq(rounds.stage(id), 4, "setup: committee drawn without the reference");
    }

    /// @notice Attack: the requester keeps every revealed output and never reveals its reference,
    ///         so the round pays little (v1: whatever R gives, the rest refunded) or nothing (when
    ///         reference-based evaluators sit out): cheap or free inference. Here reference-free
    ///         members still score; the requester must get back no more than rounding dust.
    function test_hole3_withheldReferenceForfeitsPools() public {
        (uint256 id, address[] memory outputs, address[] memory members) = _withheldRound();
        _commitScores(id, members);
        _revealScores(id, members);
        assertTrue(rounds.settle(id), "setup: settle");

        uint256 refund = rounds.balanceOf(requester);
        assertTrue(
            refund <= DUST,
            string.concat("HOLE3: a requester that withheld its reference got ", _str(refund), " wei back")
        );
        (uint256 inferencePool, uint256 evaluatorPool) = rounds.pools(id);
        assertTrue(_sum(outputs) + DUST >= inferencePool, "HOLE3: the outputs did not get the inference pool");
        assertTrue(_sum(members) + DUST >= evaluatorPool, "HOLE3: the scoring members did not get the evaluator pool");
    }

    /// @notice Attack: as above, and no member scores (they need the reference): v1 pays quality 0
    ///         and refunds the whole budget, so the requester got its inference free.
    function test_hole3_withheldReferenceNobodyScoresStillPaysOutputs() public {
        (uint256 id, address[] memory outputs, address[] memory members) = _withheldRound();
        _pastDeadline(id);
        assertTrue(rounds.settle(id), "setup: settle");

        uint256 refund = rounds.balanceOf(requester);
        assertTrue(
            refund <= DUST,
            string.concat("HOLE3: a requester that withheld its reference got ", _str(refund), " wei back")
        );
        assertTrue(_sum(outputs) + DUST >= BUDGET, "HOLE3: the revealed outputs did not get the forfeited budget");
        for (uint256 j; j < members.length; ++j) {
            assertEq(rounds.stakeOf(members[j]), 1 ether, "HOLE3: a member that had no reference to score was slashed");
        }
    }

    /*//////////////////////////////////////////////////////////////
                        HOLE 4: SYBILS AND STALE STAKE
    //////////////////////////////////////////////////////////////*/

    /// @dev One inference node commits and reveals in a fresh block: its reveal draws the committee.
    function _drawRound(uint8 k, address node, uint256 i) internal returns (uint256 id) {
        _rollTo(_height + 1 + _rand("gap", i) % 7);
        id = _open(1, k, false);
        _outputs(id, _one(node));
        assertEq(rounds.stage(id), 4, "setup: committee drawn");
    }

    /// @notice Attack: an evaluator slashed to zero stake stays in the set, keeps being drawn, and
    ///         can no longer be slashed (nothing left to take): free seats.
    function test_hole4_slashedEvaluatorIsNotDrawn() public {
        (uint256 id, address[] memory honest, address broke, address node) = _committeeOfThree("broke");
        assertEq(rounds.committee(id).length, 3, "setup: all three drawn");
        _commitScores(id, honest);
        _commitScores(id, _one(broke));
        _revealScores(id, honest); // `broke` never reveals
        _pastDeadline(id);
        assertTrue(rounds.settle(id), "setup: settle");
        assertEq(rounds.stakeOf(broke), 0, "setup: slashed to zero");
        _node("late honest", true, 1 ether);
        _nextBlock();

        for (uint256 i; i < 8; ++i) {
            uint256 r = _drawRound(3, node, i);
            assertEq(rounds.committee(r).length, 3, "setup: a full committee drawn");
            assertTrue(!rounds.isMember(r, broke), "HOLE4: an evaluator slashed to zero stake was drawn");
        }
    }

    /// @notice Attack: once a round is open (its task known), the attacker registers many fresh
    ///         evaluators before the draw, each drawable at once in v1.
    function test_hole4_registrationAfterOpenIsNotDrawn() public {
        _nodes("evaluator", 3, true, 1 ether);
        address node = _node("inference", false, 1 ether);
        _nextBlock();
        uint256 id = _open(1, 3, false);
        _nextBlock();
        address[] memory sybils = _nodes("sybil", 12, true, 1 ether);
        _nextBlock();
        _outputs(id, _one(node));
        assertEq(rounds.committee(id).length, 3, "setup: a full committee drawn");
        uint256 seated = _countMembers(id, sybils);
        assertTrue(
            seated == 0,
            string.concat("HOLE4: ", _str(seated), " evaluators registered after the round opened were drawn")
        );
    }

    /// @notice Attack: split one stake into ten minimum-stake Sybils. v1 gives one ticket per
    ///         address whatever the stake, so ten Sybils beat one honest evaluator of the same total
    ///         stake ten to one; by stake the attacker holds half, and must be seated about half the time.
    function test_hole4_sybilSplitGainsNoSeatsOverStake() public {
        address honest = _node("big honest", true, 10 ether);
        address[] memory sybils = _nodes("sybil", 10, true, 1 ether);
        address node = _node("inference", false, 1 ether);
        _nextBlock();
        uint256 rounds_ = 100;
        uint256 seats;
        for (uint256 i; i < rounds_; ++i) {
            uint256 id = _drawRound(1, node, i);
            uint256 seated = _countMembers(id, sybils);
            assertEq(seated + (rounds.isMember(id, honest) ? 1 : 0), 1, "setup: one seat per round");
            seats += seated;
        }
        // p = 1/2 by stake: 100 rounds give 50 +- 5; 4 sigma above is 70 (v1's 10/11 gives about 91).
        Console.log(string.concat("SYBIL rounds=100 sybil_seats=", _str(seats), " predicted=50.000 bound=70.000"));
        assertTrue(
            seats <= 70,
            string.concat("HOLE4: Sybils with half the stake took ", _str(seats), " of 100 seats (stake predicts 50)")
        );
        assertTrue(seats >= 30, string.concat("setup: the stake-weighted draw is off: ", _str(seats), " of 100"));
    }

    /// @notice Attack: an evaluator's exit (v1's swap-and-pop moves the last evaluator into its slot
    ///         and shrinks the modulus) changes who else is drawn from the same seed, so an attacker
    ///         with a spare evaluator can reroll the committee by leaving before the draw.
    function test_hole4_exitDoesNotReshuffleTheOthers() public {
        address[] memory evaluators = _nodes("evaluator", 8, true, 1 ether);
        address node = _node("inference", false, 1 ether);
        _nextBlock();
        uint256 id = _open(1, 3, false);
        _commitAll(id, _one(node));
        uint256 drawBlock = _height + 1;

        uint256 snap = vm.snapshotState();
        _rollTo(drawBlock);
        _revealAll(id, _one(node));
        bytes32 before = _committeeId(id);
        address leaver;
        for (uint256 i; i < evaluators.length - 1 && leaver == address(0); ++i) {
            if (!rounds.isMember(id, evaluators[i])) leaver = evaluators[i];
        }
        vm.revertToStateAndDelete(snap);

        assertTrue(rounds.requestExit(leaver), "setup: exit");
        _rollTo(drawBlock);
        _revealAll(id, _one(node));
        assertTrue(
            _committeeId(id) == before,
            "HOLE4: an undrawn evaluator's exit changed who else was drawn from the same seed"
        );
    }

    /*//////////////////////////////////////////////////////////////
                 HOLE 5: OWNER CHANGES REACH ROUNDS IN FLIGHT
    //////////////////////////////////////////////////////////////*/

    /// @notice Attack: the owner raises minStake while a round is open; v1 checks commits against
    ///         the current minimum, so the nodes staked for the round are locked out of it.
    function test_hole5_minStakeRaisedMidRoundDoesNotReachIt() public {
        _nodes("evaluator", 3, true, 1 ether);
        address node = _node("inference", false, 1 ether);
        _nextBlock();
        uint256 id = _open(1, 3, false);
        assertTrue(rounds.setMinStake(2 ether), "setup: set params");
        assertTrue(
            rounds.commitOutput(node, id, _salt(id, node)),
            "HOLE5: a minStake raised after the round opened locked its committer out"
        );
        assertTrue(rounds.revealOutput(node, id, _salt(id, node)), "HOLE5: reveal");
        assertEq(rounds.committee(id).length, 3, "HOLE5: a minStake raised mid-round shrank its committee");
    }

    /// @notice Attack: the owner sets a stage window or the unbonding delay of ten million blocks
    ///         (about four years), parking every round's budget and every exit.
    function test_hole5_windowsAndUnbondingAreBounded() public {
        assertTrue(!rounds.setWindows(10_000_000, 50), "HOLE5: a stage window of 10,000,000 blocks was accepted");
        assertTrue(!rounds.setWindows(20, 10_000_000), "HOLE5: an unbonding delay of 10,000,000 blocks was accepted");
        assertTrue(rounds.setWindows(20, 50), "setup: sane windows accepted");
    }

    /// @notice Attack: the owner sees a requester's openRound in the mempool and front-runs it with
    ///         a setParams (say, a lower alpha); v1 opens the round under parameters its requester never saw.
    function test_hole5_paramsChangeCannotFrontRunOpen() public {
        _nodes("evaluator", 1, true, 1 ether);
        _nextBlock();
        uint32 seen = rounds.paramsVersion();
        assertTrue(rounds.setMinStake(1.5 ether), "setup: set params");
        (bool ok, uint256 id) = rounds.open(requester, 1, 1, BUDGET, bytes32(0), seen);
        assertTrue(
            !ok || rounds.roundParamsVersion(id) == seen,
            "HOLE5: a round opened under parameters its requester had not seen"
        );
        _open(1, 1, false); // a requester that read the new parameters still opens
    }

    /// @notice Attack: the owner renounces ownership; v1 then credits every slash to address(0), burnt.
    function test_hole5_renounceOwnershipCannotBurnSlashes() public {
        _nodes("evaluator", 1, true, 1 ether);
        address[] memory nodes = _nodes("inference", 2, false, 1 ether);
        _nextBlock();
        rounds.renounceOwnership();
        uint256 id = _open(2, 1, false);
        _commitAll(id, nodes);
        _revealAll(id, _one(nodes[0])); // nodes[1] stays silent: slashed at settle
        _pastDeadline(id);
        assertTrue(rounds.advance(nodes[0], id), "setup: advance");
        _commitScores(id, rounds.committee(id));
        _revealScores(id, rounds.committee(id));
        assertTrue(rounds.settle(id), "setup: settle");
        assertTrue(rounds.stakeOf(nodes[1]) < 1 ether, "setup: the silent node was slashed");
        assertTrue(rounds.owner() != address(0), "HOLE5: ownership was renounced");
        assertEq(rounds.balanceOf(address(0)), 0, "HOLE5: a slash was credited to address(0)");
    }

    /*//////////////////////////////////////////////////////////////
                            HOLE 6: FREE ABSENCE
    //////////////////////////////////////////////////////////////*/

    /// @notice Attack: a drawn member takes the seat and never commits: it loses nothing in v1, and
    ///         an attacker can keep honest evaluators off the committee at no cost.
    function test_hole6_absentMemberIsSlashed() public {
        (uint256 id, address[] memory present, address absent,) = _committeeOfThree("absent");
        assertTrue(rounds.isMember(id, absent), "setup: the absent evaluator was drawn");
        _commitScores(id, present);
        _pastDeadline(id);
        _revealScores(id, present);
        assertTrue(rounds.settle(id), "setup: settle");
        assertTrue(rounds.stakeOf(absent) < 1 ether, "HOLE6: a drawn member that never committed lost nothing");
    }

    /// @notice Attack: every member stays away; v1 scores every output 0 and pays the inference
    ///         nodes nothing for outputs the requester now has.
    function test_hole6_inferencePaidWhenNobodyScores() public {
        _nodes("evaluator", 3, true, 1 ether);
        address[] memory outputs = _nodes("inference", 2, false, 1 ether);
        _nextBlock();
        uint256 id = _open(2, 3, false);
        _outputs(id, outputs);
        _pastDeadline(id); // nobody commits scores
        assertTrue(rounds.settle(id), "setup: settle");
        (, uint256 evaluatorPool) = rounds.pools(id);
        for (uint256 i; i < outputs.length; ++i) {
            assertTrue(rounds.balanceOf(outputs[i]) > 0, "HOLE6: no member scored and an inference node went unpaid");
        }
        assertTrue(_sum(outputs) + DUST >= evaluatorPool, "HOLE6: the unused evaluator pool did not reach the outputs");
    }

    /*//////////////////////////////////////////////////////////////
                              HOLE 7: DUST ROUNDS
    //////////////////////////////////////////////////////////////*/

    /// @notice Attack: open rounds of 1 wei: nothing to pay anyone, yet every daemon takes them
    ///         and spends inference and scoring on them (and they flood the chain's round list).
    function test_hole7_dustBudgetRejected() public {
        _nodes("evaluator", 1, true, 1 ether);
        _nextBlock();
        (bool ok,) = rounds.open(requester, 1, 1, 1, bytes32(0), rounds.paramsVersion());
        assertTrue(!ok, "HOLE7: a 1-wei round was accepted");
        _open(1, 1, false); // a real budget still opens
    }

    /*//////////////////////////////////////////////////////////////
                                  GRINDING
    //////////////////////////////////////////////////////////////*/

    uint256 internal constant GRIND_ROUNDS = 300;
    uint256 internal constant GRIND_BLOCKS = 4;
    uint256 internal constant GRIND_K = 3;

    struct Grind {
        address honestNode;
        address attackerNode;
        address attackerEvaluator;
        uint256 height;
        uint256 plain;
        uint256 ground;
    }

    /// @dev Honest stakes 1, 2, 3, 1, 2, 3, 1, 2, 3 ether; the attacker's evaluator 2 ether (10%).
    function _honestStake(uint256 i) internal pure returns (uint256) {
        return (1 + i % 3) * 1 ether;
    }

    /// @dev Plays the reveal stage of round `id` with the attacker's choice `option`: its reveal in
    ///      block `height + 2 + option / 2`, after the honest node's (option even: its reveal draws
    ///      the committee) or before it (option odd: the honest reveal in the next block draws it).
    function _playReveals(uint256 id, Grind memory g, uint256 option) internal {
        uint256 at = g.height + 2 + option / 2;
        if (option % 2 == 0) {
            _rollTo(g.height + 1);
            assertTrue(rounds.revealOutput(g.honestNode, id, _salt(id, g.honestNode)), "setup: honest reveal");
            _rollTo(at);
            assertTrue(rounds.revealOutput(g.attackerNode, id, _salt(id, g.attackerNode)), "setup: attacker reveal");
        } else {
            _rollTo(at);
            assertTrue(rounds.revealOutput(g.attackerNode, id, _salt(id, g.attackerNode)), "setup: attacker reveal");
            _rollTo(at + 1);
            assertTrue(rounds.revealOutput(g.honestNode, id, _salt(id, g.honestNode)), "setup: honest reveal");
        }
        assertEq(rounds.stage(id), 4, "setup: committee drawn");
    }

    /// @notice Attack: an attacker with one evaluator among nine honest ones (10% of the stake) and
    ///         an inference node in every round picks, for its reveal, one of 4 blocks (each with
    ///         its own prevrandao) and whether it reveals before or after the honest node: 8 choices,
    ///         each tried from a snapshot, the first that seats its evaluator kept. Over 300 rounds its
    ///         evaluator must be seated no more often than its stake predicts (K = 3 drawn without
    ///         replacement, computed exactly), within 4 binomial standard deviations.
    function test_grinding_blockAndOrderChoiceCannotSeatAttacker() public {
        Grind memory g;
        uint256[] memory weights = new uint256[](9);
        for (uint256 i; i < 9; ++i) {
            weights[i] = _honestStake(i);
            assertTrue(rounds.register(_actor("evaluator", i), true, weights[i]), "setup: register");
        }
        g.attackerEvaluator = _node("attacker evaluator", true, 2 ether);
        g.honestNode = _node("honest", false, 1 ether);
        g.attackerNode = _node("attacker", false, 1 ether);
        g.height = _height;

        for (uint256 r; r < GRIND_ROUNDS; ++r) {
            g.height += 16;
            _rollTo(g.height);
            uint256 id = _open(2, uint8(GRIND_K), false);
            _commitAll(id, _two(g.honestNode, g.attackerNode));
            uint256 chosen;
            for (uint256 option; option < 2 * GRIND_BLOCKS; ++option) {
                uint256 snap = vm.snapshotState();
                _playReveals(id, g, option);
                bool seated = rounds.isMember(id, g.attackerEvaluator);
                vm.revertToStateAndDelete(snap);
                if (option == 0 && seated) ++g.plain;
                if (seated) {
                    chosen = option;
                    ++g.ground;
                    break;
                }
            }
            _playReveals(id, g, chosen);
        }

        uint256 p = _seatProbability(weights, 2 ether, GRIND_K);
        uint256 mean = GRIND_ROUNDS * p; // WAD-scaled seat count
        uint256 sd = _sqrt(GRIND_ROUNDS * p * (1e18 - p)); // WAD-scaled
        uint256 upper = mean + 4 * sd;
        uint256 lower = mean > 4 * sd ? mean - 4 * sd : 0;
        string memory line = string.concat(
            "GRIND rounds=",
            _str(GRIND_ROUNDS),
            " choices=",
            _str(2 * GRIND_BLOCKS),
            " seats_without_choice=",
            _str(g.plain),
            " seats_with_choice=",
            _str(g.ground),
            " predicted=",
            _milli(mean),
            " bound=",
            _milli(upper)
        );
        Console.log(line);
        assertTrue(g.ground * 1e18 <= upper, string.concat("HOLE2: grinding beat the stake share: ", line));
        assertTrue(g.ground * 1e18 >= lower, string.concat("setup: seated far less than the stake predicts: ", line));
    }

    /// @dev P(the evaluator of weight `a` is among the first `k` drawn by weighted sampling without
    ///      replacement from `honest` and it), in WAD: the draw rule of Efraimidis-Spirakis keys.
    function _seatProbability(uint256[] memory honest, uint256 a, uint256 k) internal pure returns (uint256) {
        uint256 total = a;
        for (uint256 i; i < honest.length; ++i) {
            total += honest[i];
        }
        return 1e18 - _missProbability(honest, 0, total, k);
    }

    /// @dev P(k honest evaluators are drawn before the attacker's), given those in `taken` are gone
    ///      and `remaining` is the weight left (the attacker's included).
    function _missProbability(uint256[] memory honest, uint256 taken, uint256 remaining, uint256 k)
        internal
        pure
        returns (uint256 p)
    {
        if (k == 0) return 1e18;
        for (uint256 i; i < honest.length; ++i) {
            if (taken & (1 << i) != 0) continue;
            p += honest[i] * _missProbability(honest, taken | (1 << i), remaining - honest[i], k - 1) / remaining;
        }
    }

    function _sqrt(uint256 x) internal pure returns (uint256 y) {
        if (x == 0) return 0;
        y = x;
        uint256 z = (x + 1) / 2;
        while (z < y) {
            y = z;
            z = (x / z + z) / 2;
        }
    }

    /// @dev A WAD value as a decimal with three places.
    function _milli(uint256 wad) internal pure returns (string memory) {
        uint256 m = wad / 1e15;
        uint256 frac = m % 1000;
        return string.concat(_str(m / 1000), ".", frac < 10 ? "00" : frac < 100 ? "0" : "", _str(frac));
    }
}

/// @notice The v2 contract (contracts/PoQ.sol): every test must pass.
contract HolesV2Test is Holes {
    function _newRounds() internal override returns (RoundsBase) {
        return new V2Rounds();
    }
}

/// @notice The contract of dff63f8: every test must fail, at its "HOLE" assertion.
contract HolesV1Test is Holes {
    function _newRounds() internal override returns (RoundsBase) {
        return new V1Rounds();
    }
}
