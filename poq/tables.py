"""Tables on a terminal: the payout tables every command that pays shows, and their name columns."""

from __future__ import annotations

from rich.table import Table

from poq.options import name_column

SECTIONS = ("nodes", "payouts", "rounds")


def render(data: dict, console, sections: tuple[str, ...] = SECTIONS) -> None:
    """The payout tables (``sections`` of: nodes, payouts by round, rounds) on a rich console.

    ``data`` is what ``oracle.chain.payouts.collect`` returns: ``poq payouts``, ``poq run`` and
    ``poq demo`` all show their payouts through this one renderer.
    """
    def wad(x: float) -> str:
        return f"{x:.3f}"

    def eth(wei: int | None) -> str:
        return "" if wei is None else f"{wei / 1e18:.6f}"

    every_name = [n["node"] for n in data["nodes"]] + [
        p["node"] + {"slashes": " slashed", "compensation": " compensated"}.get(k, "")
        for r in data["rounds"] for k in ("inference", "evaluators", "slashes", "compensation") for p in r[k]]
    nodes = Table(title=f"Nodes of PoQ {data['contract']} (chain {data['chain_id']})")
    name_column(nodes, "node", every_name)
    name_column(nodes, "role", [n["role"] for n in data["nodes"]])
    for col in ("rounds", "quality/agreement", "cost", "reward", "paid ETH", "slashed ETH"):
        nodes.add_column(col, justify="right")
    for n in data["nodes"]:
        slashed = f"{eth(n['slashed_wei'])} ({n['slashes']})" if n["slashes"] else "0"
        paid = eth(n["paid_wei"]) + (f" (+{eth(n['compensated_wei'])} compensation)" if n["compensated_wei"] else "")
        nodes.add_row(n["node"], n["role"], str(n["rounds"]), wad(n["mean_score"]), wad(n["mean_cost"]),
                      wad(n["mean_reward"]), paid, slashed)
    if "nodes" in sections:
        console.print(nodes)

    payouts = Table(title="Payouts by round")
    payouts.add_column("round", justify="right")
    name_column(payouts, "node", every_name)
    for col in ("quality/agreement", "cost", "reward", "paid ETH"):
        payouts.add_column(col, justify="right")
    for r in data["rounds"]:
        for p in r["inference"]:
            payouts.add_row(str(r["round"]), p["node"], wad(p["quality"]), wad(p["cost"]), wad(p["reward"]),
                            eth(p["amount_wei"]))
        for p in r["evaluators"]:
            payouts.add_row(str(r["round"]), p["node"], wad(p["agreement"]), wad(p["cost"]), wad(p["reward"]),
                            eth(p["amount_wei"]))
        for c in r["compensation"]:
            payouts.add_row(str(r["round"]), f"[yellow]{c['node']} compensated[/yellow]", "", "", "",
                            f"[yellow]+{eth(c['amount_wei'])}[/yellow]")
        for sl in r["slashes"]:
            payouts.add_row(str(r["round"]), f"[red]{sl['node']} slashed[/red]", "", "", "",
                            f"[red]-{eth(sl['amount_wei'])}[/red]")
    if "payouts" in sections:
        console.print(payouts)

    rounds = Table(title="Rounds")
    for col in ("round", "kind", "stage", "budget ETH", "paid ETH", "refund ETH", "= reference model"):
        rounds.add_column(col, justify="left" if col in ("kind", "stage") else "right")
    for r in data["rounds"]:
        check = {True: "[green]yes[/green]", False: "[red]NO[/red]"}.get(r.get("matches_reference_model"), "")
        rounds.add_row(str(r["round"]), r["kind"], r["stage"], eth(r["budget_wei"]), eth(r["paid_wei"]),
                       eth(r["refund_wei"]), check)
    if "rounds" in sections:
        console.print(rounds)
