// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {PoQ} from "../../../contracts/PoQ.sol";
import {RewardMath} from "../../../contracts/RewardMath.sol";
import {Sorted} from "../Sorted.sol";
import {RoundsBase} from "./RoundsBase.sol";

/// @notice `IRounds` over the v2 contract (contracts/PoQ.sol). `settle` takes the round's lists in
///         calldata; this adapter builds them, in ascending address order, from the entries the
///         contract stored for the nodes registered through it, and the scorecards it revealed.
contract V2Rounds is RoundsBase {
    PoQ public immutable poq;

    /// @dev The score each member revealed (one per output): its scorecard at settle.
    mapping(uint256 => mapping(address => uint64)) internal _revealedScore;

    /// @dev Deployed from its artifact (not `new PoQ`), so the via-IR build does not compile PoQ
    ///      again inside every contract that creates it.
    constructor() {
        poq = PoQ(vm.deployCode("contracts/PoQ.sol:PoQ", abi.encode(_initialParams())));
    }

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

    function target() public view override returns (address) {
        return address(poq);
    }

    // ------------------------------ governance ------------------------------

    function paramsVersion() external view returns (uint32) {
        return poq.paramsVersion();
    }

    function _setParams(PoQ.Params memory p) internal returns (bool) {
        try poq.setParams(p) {
            return true;
        } catch {
            return false;
        }
    }

    function setMinStake(uint256 minStake) external returns (bool) {
        PoQ.Params memory p = poq.params(poq.paramsVersion());
        p.minStake = uint96(minStake);
        if (p.slashAmount > p.minStake) p.slashAmount = p.minStake;
        return _setParams(p);
    }

    function setWindows(uint32 window, uint32 unbonding) external returns (bool) {
        PoQ.Params memory p = poq.params(poq.paramsVersion());
        p.commitWindow = window;
        p.revealWindow = window;
        p.referenceWindow = window;
        p.scoreCommitWindow = window;
        p.scoreRevealWindow = window;
        p.unbondingBlocks = unbonding;
        return _setParams(p);
    }

    /// @dev A plain call: v2 declares `renounceOwnership` view (it only reverts), v1 does not.
    function renounceOwnership() external returns (bool ok) {
        (ok,) = address(poq).call(abi.encodeCall(PoQ.renounceOwnership, ()));
    }

    function owner() external view returns (address) {
        return poq.owner();
    }

    // ------------------------------ nodes ------------------------------

    function register(address node, bool evaluator, uint256 stake) external returns (bool) {
        _fund(node, stake);
        vm.prank(node);
        try poq.register{value: stake}(evaluator ? PoQ.Role.Evaluator : PoQ.Role.Inference) {
            _track(node, evaluator);
            return true;
        } catch {
            return false;
        }
    }

    function requestExit(address node) external returns (bool) {
        vm.prank(node);
        try poq.requestExit() {
            return true;
        } catch {
            return false;
        }
    }

    function stakeOf(address node) external view returns (uint256 stake) {
        (,,,,,, stake) = poq.nodes(node);
    }

    function balanceOf(address account) external view returns (uint256) {
        return poq.balances(account);
    }

    // ------------------------------ rounds ------------------------------

    function open(
        address requester,
        uint8 slots,
        uint8 committeeSize,
        uint256 budget,
        bytes32 referenceSalt,
        uint32 agreedVersion
    ) external returns (bool, uint256) {
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
        _fund(requester, budget);
        vm.prank(requester);
        try poq.openRound{value: budget}(task) returns (uint256 roundId) {
            _requester[roundId] = requester;
            _referenceSalt[roundId] = referenceSalt;
            return (true, roundId);
        } catch {
            return (false, 0);
        }
    }

    function commitOutput(address node, uint256 roundId, bytes32 salt) external returns (bool) {
        return _commitOutput(node, roundId, _outputCommitment(roundId, node, salt));
    }

    function commitOutputRaw(address node, uint256 roundId, bytes32 commitment) external returns (bool) {
        return _commitOutput(node, roundId, commitment);
    }

    function _commitOutput(address node, uint256 roundId, bytes32 commitment) internal returns (bool) {
        vm.prank(node);
        try poq.commitOutput(roundId, commitment) {
            return true;
        } catch {
            return false;
        }
    }

    function revealOutput(address node, uint256 roundId, bytes32 salt) external returns (bool) {
        vm.prank(node);
        try poq.revealOutput(roundId, OUTPUT, _inferenceCost(), salt) {
            return true;
        } catch {
            return false;
        }
    }

    function revealReference(uint256 roundId) external returns (bool) {
        vm.prank(_requester[roundId]);
        try poq.revealReference(roundId, TASK_HASH, REFERENCE, _referenceSalt[roundId]) {
            return true;
        } catch {
            return false;
        }
    }

    function _reveals(uint256 roundId) internal view returns (uint256) {
        (PoQ.Round memory r,) = poq.round(roundId);
        return r.reveals;
    }

    function commitScores(address member, uint256 roundId, uint64 score, bytes32 salt) external returns (bool) {
        return
            _commitScores(member, roundId, _scoresCommitment(roundId, member, _uniform(_reveals(roundId), score), salt));
    }

    function commitScoresRaw(address member, uint256 roundId, bytes32 commitment) external returns (bool) {
        return _commitScores(member, roundId, commitment);
    }

    function _commitScores(address member, uint256 roundId, bytes32 commitment) internal returns (bool) {
        vm.prank(member);
        try poq.commitScores(roundId, commitment) {
            return true;
        } catch {
            return false;
        }
    }

    function revealScores(address member, uint256 roundId, uint64 score, bytes32 salt) external returns (bool) {
        uint64[] memory scores = _uniform(_reveals(roundId), score);
        vm.prank(member);
        try poq.revealScores(roundId, scores, _evaluatorCost(), salt) {
            _revealedScore[roundId][member] = score;
            return true;
        } catch {
            return false;
        }
    }

    function advance(address caller, uint256 roundId) external returns (bool) {
        vm.prank(caller);
        try poq.advance(roundId) {
            return true;
        } catch {
            return false;
        }
    }

    /// @dev The one settlement `settle` accepts: revealed outputs, silent committers and the drawn
    ///      committee, each ascending by address, and each revealed member's scorecard.
    function settlement(uint256 roundId) public view returns (PoQ.Settlement memory s) {
        uint256 n = _inference.length;
        address[] memory outputs = new address[](n);
        address[] memory silent = new address[](n);
        uint256 nOut;
        uint256 nSilent;
        for (uint256 i; i < n; ++i) {
            (PoQ.Entry entry,) = poq.submission(roundId, _inference[i]);
            if (entry == PoQ.Entry.Revealed) outputs[nOut++] = _inference[i];
            else if (entry == PoQ.Entry.Committed) silent[nSilent++] = _inference[i];
        }
        s.outputs = Sorted.addresses(outputs, nOut);
        s.silent = Sorted.addresses(silent, nSilent);
        s.committee = _committee(roundId);
        s.cards = new PoQ.Scorecard[](s.committee.length);
        for (uint256 j; j < s.committee.length; ++j) {
            address member = s.committee[j];
            if (poq.evaluation(roundId, member) == PoQ.Entry.Revealed) {
                s.cards[j] = PoQ.Scorecard(_uniform(nOut, _revealedScore[roundId][member]), _evaluatorCost());
            }
        }
    }

    function settle(uint256 roundId) external returns (bool) {
        PoQ.Settlement memory s = settlement(roundId);
        try poq.settle(roundId, s) {
            return true;
        } catch {
            return false;
        }
    }

    function stage(uint256 roundId) external view returns (uint8) {
        (PoQ.Round memory r,) = poq.round(roundId);
        return uint8(r.stage);
    }

    function deadline(uint256 roundId) external view returns (uint256) {
        (PoQ.Round memory r,) = poq.round(roundId);
        return r.deadline;
    }

    function roundParamsVersion(uint256 roundId) external view returns (uint32) {
        (PoQ.Round memory r,) = poq.round(roundId);
        return r.paramsVersion;
    }

    function isMember(uint256 roundId, address evaluator) public view returns (bool) {
        return poq.evaluation(roundId, evaluator) != PoQ.Entry.None;
    }

    function _committee(uint256 roundId) internal view returns (address[] memory) {
        uint256 m = _evaluators.length;
        address[] memory members = new address[](m);
        uint256 k;
        for (uint256 i; i < m; ++i) {
            if (isMember(roundId, _evaluators[i])) members[k++] = _evaluators[i];
        }
        return Sorted.addresses(members, k);
    }

    function committee(uint256 roundId) external view returns (address[] memory) {
        return _committee(roundId);
    }

    function pools(uint256 roundId) external view returns (uint256 inferencePool, uint256 evaluatorPool) {
        (PoQ.Round memory r,) = poq.round(roundId);
        inferencePool = uint256(r.budget) * poq.params(r.paramsVersion).inferenceShare / 1e18;
        evaluatorPool = r.budget - inferencePool;
    }
}
