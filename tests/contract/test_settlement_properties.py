"""Property: for any round, the contract's settlement equals the Python reference model, to the wei.

Hypothesis draws the parameters (alpha/beta at 0, WAD or between, mean or median,
any cost model, any slash up to the stake, a budget floor from 1 wei), the round
(n in 1..8, K in 1..5, a budget from the floor up), each node's behaviour (reveal,
or commit and go silent; a committee member may also stay absent, and whole
committees may stay away or go silent, so that nobody scores), a reference
revealed or withheld, stakes already slashed by a round settled just before
(so that a slash is capped by what is left), costs from 0 to 2^64 - 1 and
scores from 0 to 1e18. Each example opens a new round on the module's PoQ
(deployed once, restored to the same snapshot after every example) and plays
it; ``oracle.protocol.reward.settle`` of what the example told every node to do must
equal every payout, slash and compensation of the settlement's events, its paid
total and refund, and every balance and stake must move by exactly that.

The round is driven here rather than with ``oracle.chain.scripted_round.play_scripted_round``,
which reveals before the commit stage has closed when fewer than ``slots`` nodes
commit, and cannot leave a committee member absent.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from oracle.chain.client import by_address
from oracle.protocol.params import WAD, Aggregation, CostModel, Params, Stage
from oracle.protocol.reward import Cost, Evaluation, Output, RoundInput, normalised_cost

from .harness import RoundPlay, check_settled, credits_of

ETH = 10**18
U64 = 2**64 - 1

# Windows just long enough for every node of a stage (8 commits, 5 score commits): the blocks an
# example mines past deadlines are its slowest part on ape's Anvil.
WINDOWS = {"commit_window": 8, "reveal_window": 8, "reference_window": 2, "score_commit_window": 5,
           "score_reveal_window": 5}

wads = st.one_of(st.sampled_from([0, 1, WAD - 1, WAD]), st.integers(0, WAD))
scores = st.one_of(st.sampled_from([0, WAD]), st.integers(0, WAD))
measures = st.one_of(st.sampled_from([0, 1, U64]), st.integers(0, 20_000), st.integers(0, U64))
costs = st.builds(Cost, measures, measures, measures)
references = st.one_of(st.integers(1, 10_000), st.integers(1, U64))


@st.composite
def cost_models(draw) -> CostModel:
    w_latency = draw(wads)
    w_tokens = draw(st.integers(0, WAD - w_latency))
    return CostModel(w_latency, w_tokens, WAD - w_latency - w_tokens,
                     draw(references), draw(references), draw(references))


@st.composite
def round_params(draw) -> Params:
    return Params(alpha_inference=draw(wads), beta_inference=draw(wads), alpha_evaluator=draw(wads),
                  beta_evaluator=draw(wads), inference_share=draw(wads), inference_cost=draw(cost_models()),
                  evaluator_cost=draw(cost_models()), aggregation=draw(st.sampled_from(list(Aggregation))),
                  slash_amount=draw(st.one_of(st.sampled_from([0, ETH // 2, 3 * ETH // 4, ETH]), st.integers(0, ETH))),
                  min_budget=draw(st.one_of(st.sampled_from([1, 10**15]), st.integers(1, 10**6))),
                  min_stake=ETH, **WINDOWS)


REVEAL, SILENT, ABSENT = "reveal", "silent", "absent"  # silent: commits and never reveals
behaviours = st.sampled_from([REVEAL, REVEAL, SILENT])
# How a committee behaves: member by member, or all alike (so that nobody scores).
MEMBER_MODES = {
    "mixed": st.sampled_from([REVEAL, REVEAL, SILENT, ABSENT]),
    "all-absent": st.just(ABSENT),
    "all-silent": st.just(SILENT),
    "none-reveals": st.sampled_from([SILENT, ABSENT]),
}
member_modes = st.sampled_from(["mixed", "mixed", "mixed", "all-absent", "all-silent", "none-reveals"])


@dataclass(frozen=True)
class Shadow:
    """A round opened once the planned round is Settleable and settled before it, to slash stakes first:
    ``silent`` inference nodes commit and never reveal; if ``committee`` > 0, the last inference node
    reveals and a committee of that size is drawn and stays away."""

    silent: tuple[int, ...]
    committee: int


@dataclass(frozen=True)
class Plan:
    params: Params
    budget: int
    slots: int
    committee_size: int
    inference: tuple[tuple[int, str, Cost, str], ...]  # (node index, output, cost, behaviour), commit order
    reveal_order: tuple[int, ...]  # positions in ``inference``
    evaluators: tuple[tuple[tuple[int, ...], Cost, str], ...]  # per registered evaluator: scores, cost, behaviour
    reference: str | None
    reveal_reference: bool
    shadow: Shadow | None


@st.composite
def shadows(draw, n_inference: int, n_evaluators: int, silent_in_plan: tuple[int, ...]) -> Shadow:
    """Mostly the planned round's own silent nodes, so that their second slash meets a slashed stake."""
    extra = draw(st.lists(st.integers(0, n_inference - 2), unique=True, max_size=2))
    silent = tuple(sorted({i for i in silent_in_plan if i < n_inference - 1} | set(extra)))
    committee = draw(st.one_of(st.just(n_evaluators), st.integers(0 if silent else 1, n_evaluators)))
    return Shadow(silent, committee)


@st.composite
def plans(draw, n_inference: int, n_evaluators: int) -> Plan:
    params = draw(round_params())
    slots = draw(st.integers(1, n_inference))
    committers = draw(st.integers(0, slots))
    order = draw(st.permutations(range(n_inference)))[:committers]
    inference = tuple((i, draw(st.text(max_size=12)), draw(costs), draw(behaviours)) for i in order)
    member = MEMBER_MODES[draw(member_modes)]
    evaluators = tuple((tuple(draw(st.lists(scores, min_size=n_inference, max_size=n_inference))),
                        draw(costs), draw(member))
                       for _ in range(n_evaluators))
    floor = params.min_budget
    silent_in_plan = tuple(i for i, _, _, behaviour in inference if behaviour == SILENT)
    budget = draw(st.one_of(st.just(floor), st.integers(floor, floor + 10**6), st.integers(floor, 10 * ETH)))
    # About a third of the examples settle a shadow round first (it costs a round's worth of transactions).
    shadow = draw(shadows(n_inference, n_evaluators, silent_in_plan)) if draw(st.integers(0, 2)) == 0 else None
    if shadow is not None and draw(st.booleans()):  # a slash above half the stake: the second one is capped
        params = params.with_(slash_amount=draw(st.integers(ETH // 2 + 1, ETH)))
    return Plan(params, budget, slots, draw(st.integers(1, min(5, n_evaluators))), inference,
                tuple(draw(st.permutations(range(committers)))), evaluators,
                draw(st.none() | st.text(min_size=1, max_size=12)), draw(st.booleans()), shadow)


def play_plan(open_round, plan: Plan, nodes: list, members: list) -> RoundPlay:
    """Drives one round as ``plan`` says up to Settleable, mining through the deadlines of stages not
    everyone finishes."""
    play = open_round(slots=plan.slots, committee_size=plan.committee_size, budget=plan.budget,
                      reference=plan.reference)
    for i, output, cost, _ in plan.inference:
        play.commit(nodes[i], output, cost)
    play.advance_to(Stage.REVEAL, Stage.SETTLEABLE)
    for position in plan.reveal_order:
        i, _, _, behaviour = plan.inference[position]
        if behaviour == REVEAL:
            play.reveal(nodes[i])
    play.advance_to(Stage.REFERENCE, Stage.SCORE_COMMIT, Stage.SETTLEABLE)
    if play.stage() == Stage.REFERENCE and plan.reveal_reference:
        play.reveal_reference()
    play.advance_to(Stage.SCORE_COMMIT, Stage.SETTLEABLE)
    outputs = len(play.revealed)
    committee = set(play.committee())
    drawn = [(m, plan.evaluators[k]) for k, m in enumerate(members) if m.address in committee]
    for m, (planned, cost, behaviour) in drawn:
        if behaviour != ABSENT:
            play.commit_scores(m, list(planned[:outputs]), cost)
    play.advance_to(Stage.SCORE_REVEAL, Stage.SETTLEABLE)
    for m, (_, _, behaviour) in drawn:
        if behaviour == REVEAL:
            play.reveal_scores(m)
    play.advance_to(Stage.SETTLEABLE)
    return play


def play_shadow(open_round, shadow: Shadow, budget: int, nodes: list) -> RoundPlay:
    """Plays ``shadow`` to its settlement: its silent nodes and its whole committee are slashed."""
    play = open_round(slots=len(shadow.silent) + (shadow.committee > 0), committee_size=max(1, shadow.committee),
                      budget=budget)
    for i in shadow.silent:
        play.commit(nodes[i])
    if shadow.committee:
        play.commit(nodes[-1])
        play.advance_to(Stage.REVEAL)
        play.reveal(nodes[-1])
    play.advance_to(Stage.SETTLEABLE)
    play.settle()
    return play


def planned_input(plan: Plan, play: RoundPlay, nodes: list, members: list, stakes: dict[str, int]) -> RoundInput:
    """The reference model's input for what ``plan`` told every node to do (the committee is the drawn one)."""
    by_node = {nodes[i].address: (cost, behaviour) for i, _, cost, behaviour in plan.inference}
    revealed = by_address(a for a, (_, b) in by_node.items() if b == REVEAL)
    planned = {m.address: plan.evaluators[k] for k, m in enumerate(members)}
    committee = []
    for m in by_address(play.committee()):
        scores, cost, behaviour = planned[m]
        committee.append(Evaluation(m, behaviour != ABSENT, tuple(scores[:len(revealed)]) if behaviour == REVEAL
                                    else None, normalised_cost(cost, plan.params.evaluator_cost)
                                    if behaviour == REVEAL else 0))
    return RoundInput(
        budget=plan.budget, slots=plan.slots, committee_size=plan.committee_size,
        outputs=tuple(Output(a, normalised_cost(by_node[a][0], plan.params.inference_cost)) for a in revealed),
        committee=tuple(committee),
        unrevealed_committers=tuple(by_address(a for a, (_, b) in by_node.items() if b == SILENT)),
        stakes=stakes, reference_withheld=plan.reference is not None and not play.reference_revealed)


def test_settlement_equals_reference_model(poq, client, open_round, owner, requester, inference_nodes,
                                           evaluators):
    nodes, members = inference_nodes, evaluators
    watched = [a.address for a in nodes + members + [owner, requester]]
    cases: Counter = Counter()

    # No shrinking: a failing example already prints its whole plan, and shrinking rounds that
    # each take dozens of transactions runs for minutes.
    @settings(max_examples=200, deadline=None, phases=[Phase.generate], print_blob=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(plan=plans(len(nodes), len(members)))
    def check(plan: Plan) -> None:
        # Every example starts from the same chain: independent examples, and a chain that does not
        # grow by thousands of blocks (Anvil mines more slowly the longer its chain).
        snapshot = client.rpc("evm_snapshot", [])
        try:
            play_and_compare(plan)
        finally:
            client.rpc("evm_revert", [snapshot])

    def play_and_compare(plan: Plan) -> None:
        client.transact(owner, "setParams", plan.params.as_contract_tuple())
        play = play_plan(open_round, plan, nodes, members)
        if plan.shadow is not None:
            play_shadow(open_round, plan.shadow, plan.params.min_budget, nodes)
        owed_before, nodes_before = client.owed_and_nodes(watched)
        staked_before = {a: n["stake"] for a, n in nodes_before.items()}
        play.settle()

        # Settlement: the contract's events equal the reference model's payouts, slashes, compensation
        # and refund for what every node was told to do, and the events say the same about who did what.
        expected = planned_input(plan, play, nodes, members, staked_before)
        settled, _ = check_settled(client, play.rid, staked_before, play.opened_block, expected)
        assert settled.paid + settled.refund == plan.budget
        # Who revealed is who was told to, in the order told; the committee is the sortition's K distinct
        # registered evaluators.
        revealers = [plan.inference[p] for p in plan.reveal_order if plan.inference[p][3] == REVEAL]
        assert [e["args"]["node"] for e in play.events("OutputRevealed")] == [nodes[i].address
                                                                              for i, *_ in revealers]
        committee = play.committee()
        if revealers:
            assert len(set(committee)) == len(committee) == plan.committee_size
            assert set(committee) <= {m.address for m in members}
            assert play.predicted_committee() == committee
        # Balances moved by exactly what the events say; slashed stake went to the owner.
        owed_after, nodes_after = client.owed_and_nodes(watched)
        credited = credits_of(settled, owner.address, requester.address)
        assert {a: owed_after[a] - owed_before[a] for a in watched} == {a: credited.get(a, 0) for a in watched}
        for node, amount in settled.slashes:
            assert staked_before[node] - nodes_after[node]["stake"] == amount
        assert [nodes_after[a]["pending_rounds"] for a in watched] == [0] * len(watched)  # no round left pending
        cases["examples"] += 1
        cases["absent"] += any(not e.committed for e in expected.committee)
        cases["silent member"] += any(e.committed and e.scores is None for e in expected.committee)
        cases["withheld"] += expected.reference_withheld and bool(expected.outputs)
        cases["nobody scored"] += bool(expected.outputs) and all(e.scores is None for e in expected.committee)
        cases["compensated"] += bool(settled.compensation)
        cases["capped slash"] += any(amount < plan.params.slash_amount for _, amount in settled.slashes)

    check()
    # The examples reached every rule v2 added, not only the paper's reward.
    for case in ("absent", "silent member", "withheld", "nobody scored", "compensated", "capped slash"):
        assert cases[case] > 0, f"no example had {case}: {dict(cases)}"
