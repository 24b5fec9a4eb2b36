"""Property: for any round, the contract's settlement equals the Python reference model, to the wei.

Hypothesis draws the parameters (alpha/beta at 0, WAD or between, mean or median,
any cost model), the round (n in 1..8, K in 1..5, budget from 1 wei), each
node's behaviour (reveal, or commit and go silent; a committee member may also
stay absent), costs from 0 to 2^64 - 1 and scores from 0 to 1e18. Each example
opens a new round on the module's PoQ (deployed once, restored to the same
snapshot after every example) and plays it; the events are then folded by
``oracle.ledger`` and compared with ``oracle.reward.settle``.

The round is driven here rather than with ``oracle.rounds.play_scripted_round``,
which reveals before the commit stage has closed when fewer than ``slots`` nodes
commit, and cannot leave a committee member absent.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from oracle.ledger import build_rounds, check_against_reference
from oracle.params import WAD, Aggregation, CostModel, Params, Stage
from oracle.reward import Cost, normalised_cost

from .harness import RoundPlay

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
                  slash_amount=draw(st.integers(0, ETH)), min_stake=ETH, **WINDOWS)


REVEAL, SILENT, ABSENT = "reveal", "silent", "absent"  # silent: commits and never reveals
behaviours = st.sampled_from([REVEAL, REVEAL, SILENT])
member_behaviours = st.sampled_from([REVEAL, REVEAL, SILENT, ABSENT])


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


@st.composite
def plans(draw, n_inference: int, n_evaluators: int) -> Plan:
    slots = draw(st.integers(1, n_inference))
    committers = draw(st.integers(0, slots))
    order = draw(st.permutations(range(n_inference)))[:committers]
    inference = tuple((i, draw(st.text(max_size=12)), draw(costs), draw(behaviours)) for i in order)
    evaluators = tuple((tuple(draw(st.lists(scores, min_size=n_inference, max_size=n_inference))),
                        draw(costs), draw(member_behaviours))
                       for _ in range(n_evaluators))
    return Plan(draw(round_params()), draw(st.one_of(st.integers(1, 10**6), st.integers(1, 10 * ETH))), slots,
                draw(st.integers(1, min(5, n_evaluators))), inference,
                tuple(draw(st.permutations(range(committers)))), evaluators,
                draw(st.none() | st.text(min_size=1, max_size=12)), draw(st.booleans()))


def play_plan(open_round, plan: Plan, nodes: list, members: list) -> RoundPlay:
    """Drives one round as ``plan`` says, mining through the deadlines of stages not everyone finishes."""
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
        play.client.reveal_reference(play.requester, play.rid, plan.reference, b"\x11" * 32)
    play.advance_to(Stage.SCORE_COMMIT, Stage.SETTLEABLE)
    outputs = len(play.client.revealed_nodes(play.rid))
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
    play.settle()
    return play


def test_settlement_equals_reference_model(poq, client, open_round, owner, requester, inference_nodes,
                                           evaluators):
    nodes, members = inference_nodes, evaluators
    watched = [a.address for a in nodes + members + [owner, requester]]

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
        owed_before, nodes_before = client.owed_and_nodes(watched)
        staked_before = {a: node[3] for a, node in nodes_before.items()}
        play = play_plan(open_round, plan, nodes, members)
        record = build_rounds(client.events(from_block=play.opened_block))[play.rid]

        # Settlement: the contract's events equal the reference model's payouts, slashes and refund.
        assert check_against_reference(record, plan.params, staked_before) == []
        assert record.paid + record.refund == plan.budget
        # Normalisation of the attested costs, which the ledger takes from the events.
        for o in record.outputs:
            assert o["normalised_cost"] == normalised_cost(Cost(*o["cost"]), plan.params.inference_cost)
        for s in record.scores.values():
            assert s["normalised_cost"] == normalised_cost(Cost(*s["cost"]), plan.params.evaluator_cost)
        # Who revealed is who was told to; the committee is K distinct registered evaluators.
        revealers = [plan.inference[p] for p in plan.reveal_order if plan.inference[p][3] == REVEAL]
        assert [o["node"] for o in record.outputs] == [nodes[i].address for i, *_ in revealers]
        if record.outputs:
            assert len(set(record.committee)) == len(record.committee) == plan.committee_size
            assert set(record.committee) <= {m.address for m in members}
        # Balances moved by exactly what the events say; slashed stake went to the owner.
        owed_after, nodes_after = client.owed_and_nodes(watched)
        credited = dict.fromkeys(watched, 0)
        for p in record.inference_paid + record.evaluator_paid:
            credited[p["node"]] += p["amount"]
        for s in record.slashes:
            credited[owner.address] += s["amount"]
            assert staked_before[s["node"]] - nodes_after[s["node"]][3] == s["amount"]
        credited[requester.address] += record.refund
        assert {a: owed_after[a] - owed_before[a] for a in watched} == credited
        assert [nodes_after[a][1] for a in watched] == [0] * len(watched)  # no round left pending

    check()
