"""``poq demo``: deploy PoQ to a local Anvil and play one complete, scripted round.

Four inference nodes with fixed answers and cost attestations, four registered
evaluators of which a committee of three is drawn; evaluators score with token
F1 against the revealed reference. Prints every node's quality, cost, reward
and payout, checks them against the reference model, and stops Anvil.
"""

from __future__ import annotations

import argparse

from oracle.pipeline.quality.token_f1 import token_f1
from poq.options import eth_to_wei, positive_eth

QUESTION = {
    "id": "demo-broncos",
    "context": ("Super Bowl 50 was an American football game to determine the champion of the National "
                "Football League (NFL) for the 2015 season. The American Football Conference (AFC) champion "
                "Denver Broncos defeated the National Football Conference (NFC) champion Carolina Panthers "
                "24-10 to earn their third Super Bowl title."),
    "question": "Which NFL team won Super Bowl 50?",
}
REFERENCE = "Denver Broncos"
# name, answer, (latency ms, output tokens, peak memory MB): a big accurate model,
# a small fast one, a slow wrong one, and a verbose one.
INFERENCE = [
    ("large-accurate", "The Denver Broncos", (1_100, 5, 3_000)),
    ("small-fast", "Broncos", (350, 3, 600)),
    ("slow-wrong", "The Carolina Panthers won it.", (4_200, 9, 3_500)),
    ("verbose", "It was won by the Denver Broncos, who beat Carolina 24-10 for their third title.",
     (2_600, 40, 1_800)),
]
# name, cost, score noise (WAD) added to F1: evaluators disagree a little.
EVALUATORS = [
    ("eval-f1-a", (40, 120, 200), 0),
    ("eval-f1-b", (60, 120, 220), 2 * 10**16),
    ("eval-f1-c", (900, 400, 1_500), -3 * 10**16),
    ("eval-f1-d", (120, 120, 300), 10**16),
]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="deploy to a local Anvil and play one complete round with scripted nodes",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--budget-eth", type=positive_eth, default=1.0, help="round budget in ETH (default 1)")
    p.set_defaults(func=run)


def _f1_scorer(noise: int):
    from oracle.protocol.params import WAD, to_wad

    def score(outputs, reference):
        return [max(0, min(WAD, to_wad(token_f1(o, [reference])) + noise)) for o in outputs]
    return score


def run(args: argparse.Namespace) -> int:
    from rich.table import Table

    from oracle.chain.anvil import Anvil
    from oracle.chain.client import PoQClient, dev_account
    from oracle.chain.ledger import build_rounds, check_against_reference
    from oracle.chain.payouts import collect_since
    from oracle.chain.scripted_round import ScriptedEvaluator, play_scripted_round, register_scripted_inference
    from oracle.protocol.params import Params, Role
    from oracle.protocol.reward import Cost
    from poq.options import console as wide_console
    from poq.tables import render

    console = wide_console()
    params = Params()
    budget = eth_to_wei(args.budget_eth)
    with Anvil() as anvil:
        console.print(f"[bold]Anvil[/bold] on {anvil.url} (chain id {anvil.chain_id})")
        w3 = PoQClient.web3(anvil.url)
        owner = dev_account(0)
        client = PoQClient.deploy(w3, owner, params)
        console.print(f"[bold]PoQ[/bold] deployed at {client.address}")
        inference, names = register_scripted_inference(client, INFERENCE, 1, params.min_stake)
        evaluators = []
        for j, (name, cost, noise) in enumerate(EVALUATORS, start=len(INFERENCE) + 1):
            acct = dev_account(j)
            client.register(acct, Role.EVALUATOR, params.min_stake)
            evaluators.append(ScriptedEvaluator(acct, _f1_scorer(noise), Cost(*cost)))
            names[acct.address] = name
        console.print(f"registered {len(inference)} inference nodes and {len(evaluators)} evaluators; "
                      f"question: {QUESTION['question']!r}")
        rid = play_scripted_round(client, owner, QUESTION, "qa", REFERENCE, inference, evaluators,
                                  budget=budget, committee_size=3)
        record = build_rounds(client.events())[rid]
        roles: dict[str, str] = {**{a.account.address: "inference" for a in inference},
                                 **{e.account.address: "evaluator" for e in evaluators}}
        data = collect_since(client, 0, names, roles)

    answers = Table(title=f"Round {rid}: budget {budget / 1e18:g} ETH, committee {len(record.committee)} of "
                          f"{len(evaluators)} evaluators ({params.aggregation.name.lower()} aggregation)")
    for col in ("node", "answer"):
        answers.add_column(col)
    for node in inference:
        answers.add_row(names[node.account.address], node.output)
    console.print(answers)
    render(data, console, sections=("payouts",))
    assert record.paid is not None and record.refund is not None  # play_scripted_round settled the round
    console.print(f"paid {record.paid / 1e18:.6f} ETH + refund {record.refund / 1e18:.6f} ETH = "
                  f"{(record.paid + record.refund) / 1e18:g} ETH budget")
    problems = check_against_reference(record, params)
    if problems:
        console.print("[red]chain and reference model disagree:[/red]\n" + "\n".join(problems))
        return 1
    console.print("[green]every payout equals the Python reference model's, to the wei[/green]")
    return 0
