// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {PoQV1} from "../vendor/poq-v1/PoQV1.sol";
import {RewardMathV1} from "../vendor/poq-v1/RewardMathV1.sol";
import {RoundsBase} from "./RoundsBase.sol";

/// @notice `IRounds` over the contract of dff63f8 (tests/forge/vendor/poq-v1/PoQV1.sol): the hole tests run
///         against it to show that each of them catches the hole v2 closes.
contract V1Rounds is RoundsBase {
    PoQV1 public immutable poq;

    /// @dev Deployed from its artifact (not `new PoQV1`), so the via-IR build does not compile it
    ///      again inside every contract that creates it.
    constructor() {
        poq = PoQV1(vm.deployCode("tests/forge/vendor/poq-v1/PoQV1.sol:PoQV1", abi.encode(_initialParams())));
    }

    function _model() internal pure returns (RewardMathV1.CostModel memory m) {
        m = RewardMathV1.CostModel({
            wLatency: 0.5e18,
            wTokens: 0.3e18,
            wMemory: 0.2e18,
            refLatencyMs: 10_000,
            refTokens: 1_000,
            refMemoryMb: 16_000
        });
    }

    function _initialParams() internal pure returns (PoQV1.Params memory) {
        return PoQV1.Params({
            alphaInference: ALPHA,
            betaInference: BETA,
            alphaEvaluator: ALPHA,
            betaEvaluator: BETA,
            inferenceShare: INFERENCE_SHARE,
            inferenceCost: _model(),
            evaluatorCost: _model(),
            commitWindow: WINDOW,
            revealWindow: WINDOW,
            referenceWindow: WINDOW,
            scoreCommitWindow: WINDOW,
            scoreRevealWindow: WINDOW,
            unbondingBlocks: UNBONDING,
            minStake: MIN_STAKE,
            slashAmount: SLASH,
            aggregation: PoQV1.Aggregation.Mean
        });
    }

    function _cost(bool inference) internal pure returns (RewardMathV1.Cost memory) {
        (uint64 latency, uint64 tokens, uint64 memoryMb) = inference
            ? (_inferenceCost().latencyMs, _inferenceCost().tokens, _inferenceCost().memoryMb)
            : (_evaluatorCost().latencyMs, _evaluatorCost().tokens, _evaluatorCost().memoryMb);
        return RewardMathV1.Cost(latency, tokens, memoryMb);
    }

    function target() public view override returns (address) {
        return address(poq);
    }

    // ------------------------------ governance ------------------------------

    function paramsVersion() external view returns (uint32) {
        return poq.paramsVersion();
    }

    function _setParams(PoQV1.Params memory p) internal returns (bool) {
        try poq.setParams(p) {
            return true;
        } catch {
            return false;
        }
    }

    function setMinStake(uint256 minStake) external returns (bool) {
        PoQV1.Params memory p = poq.params(poq.paramsVersion());
        p.minStake = uint128(minStake);
        if (p.slashAmount > p.minStake) p.slashAmount = p.minStake;
        return _setParams(p);
    }

    function setWindows(uint32 window, uint32 unbonding) external returns (bool) {
        PoQV1.Params memory p = poq.params(poq.paramsVersion());
        p.commitWindow = window;
        p.revealWindow = window;
        p.referenceWindow = window;
        p.scoreCommitWindow = window;
        p.scoreRevealWindow = window;
        p.unbondingBlocks = unbonding;
        return _setParams(p);
    }

    function renounceOwnership() external returns (bool) {
        try poq.renounceOwnership() {
            return true;
        } catch {
            return false;
        }
    }

    function owner() external view returns (address) {
        return poq.owner();
    }

    // ------------------------------ nodes ------------------------------

    function register(address node, bool evaluator, uint256 stake) external returns (bool) {
        _fund(node, stake);
        vm.prank(node);
        try poq.register{value: stake}(evaluator ? PoQV1.Role.Evaluator : PoQV1.Role.Inference) {
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
        (,,, stake) = poq.nodes(node);
    }

    function balanceOf(address account) external view returns (uint256) {
        return poq.balances(account);
    }

    // ------------------------------ rounds ------------------------------

    function open(address requester, uint8 slots, uint8 committeeSize, uint256 budget, bytes32 referenceSalt, uint32)
        external
        returns (bool, uint256)
    {
        PoQV1.Task memory task = PoQV1.Task({
            taskHash: TASK_HASH,
            uri: "data:,What is the capital of France?",
            kind: "qa",
            slots: slots,
            committeeSize: committeeSize,
            referenceCommitment: referenceSalt == bytes32(0)
                ? bytes32(0)
                : _referenceCommitment(requester, referenceSalt)
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
        try poq.revealOutput(roundId, OUTPUT, _cost(true), salt) {
            return true;
        } catch {
            return false;
        }
    }

    function revealReference(uint256 roundId) external returns (bool) {
        vm.prank(_requester[roundId]);
        try poq.revealReference(roundId, REFERENCE, _referenceSalt[roundId]) {
            return true;
        } catch {
            return false;
        }
    }

    function _reveals(uint256 roundId) internal view returns (uint256) {
        (PoQV1.Round memory r,) = poq.round(roundId);
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
        try poq.revealScores(roundId, scores, _cost(false), salt) {
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

    function settle(uint256 roundId) external returns (bool) {
        try poq.settle(roundId) {
            return true;
        } catch {
            return false;
        }
    }

    function stage(uint256 roundId) external view returns (uint8) {
        (PoQV1.Round memory r,) = poq.round(roundId);
        return uint8(r.stage);
    }

    function deadline(uint256 roundId) external view returns (uint256) {
        (PoQV1.Round memory r,) = poq.round(roundId);
        return r.deadline;
    }

    function roundParamsVersion(uint256 roundId) external view returns (uint32) {
        (PoQV1.Round memory r,) = poq.round(roundId);
        return r.paramsVersion;
    }

    function isMember(uint256 roundId, address evaluator) external view returns (bool) {
        return poq.evaluation(roundId, evaluator).member;
    }

    function committee(uint256 roundId) external view returns (address[] memory) {
        return poq.committee(roundId);
    }

    function pools(uint256 roundId) external view returns (uint256 inferencePool, uint256 evaluatorPool) {
        (PoQV1.Round memory r,) = poq.round(roundId);
        return (r.inferencePool, r.evaluatorPool);
    }
}
