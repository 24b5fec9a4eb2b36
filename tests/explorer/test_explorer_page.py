"""The explorer page in a real headless Chromium: rounds, a round's payouts, a node's slash, live updates."""

from __future__ import annotations

from playwright.sync_api import expect

from oracle.protocol.params import Params

from .conftest import FLAKY, INFERENCE

TIMEOUT_MS = 20_000


def eth_text(wei: int) -> str:
    """What the page prints for ``wei``: ETH with 6 decimals, truncated (app.js ``formatEth``)."""
    return f"{wei // 10**18}.{wei % 10**18 // 10**12:06d}"


def settled_rounds(client) -> dict[int, dict]:
    return {e["args"]["roundId"]: e["args"] for e in client.events() if e["event"] == "RoundSettled"}


def test_rounds_page_lists_every_settled_round_and_a_click_shows_its_payouts(devnet, explorer, page, screenshot):
    page.goto(explorer.url + "/#/rounds")
    rows = page.locator("#rounds tbody tr[data-round]")
    settled = settled_rounds(devnet.client)
    expect(rows).to_have_count(len(devnet.client.events(names=["RoundOpened"])), timeout=TIMEOUT_MS)
    shown = {int(r.get_attribute("data-round")): r.get_attribute("data-stage") for r in rows.all()}
    assert {rid for rid, stage in shown.items() if stage == "Settled"} == set(settled)
    for rid, args in settled.items():
        paid = page.locator(f'#rounds tr[data-round="{rid}"] td:nth-child(5) .eth')
        assert paid.get_attribute("data-wei") == str(args["paid"])
        expect(paid).to_have_text(eth_text(args["paid"]))
    expect(page.locator("svg.chart rect.bar").first).to_be_visible()
    screenshot(page, "rounds")

    rid = 2  # the round with the slash
    page.locator(f'#rounds tr[data-round="{rid}"] a.round-link').click()
    expect(page.locator("h1")).to_contain_text(f"Round {rid}", timeout=TIMEOUT_MS)
    events = [e for e in devnet.client.events(names=["InferencePaid", "EvaluatorPaid"]) if e["args"]["roundId"] == rid]
    assert events
    for e in events:
        node = e["args"]["node" if e["event"] == "InferencePaid" else "evaluator"]
        table = "#inference" if e["event"] == "InferencePaid" else "#committee"
        cell = page.locator(f'{table} tr[data-node="{node}"] td.payout .eth')
        expect(cell).to_have_text(eth_text(e["args"]["amount"]))
        assert cell.get_attribute("data-wei") == str(e["args"]["amount"])
        assert page.locator(f'{table} tr[data-node="{node}"] a[data-tx="{e["tx"]}"]').count() == 1
    flaky = devnet.addresses[INFERENCE[FLAKY][0]]
    expect(page.locator(f'#inference tr[data-node="{flaky}"]')).to_contain_text("never revealed")
    expect(page.locator(f'#inference tr[data-node="{flaky}"] td.payout')).to_contain_text(
        "slashed " + eth_text(Params().slash_amount))
    screenshot(page, f"round-{rid}")


def test_node_page_shows_the_slash(devnet, explorer, page, screenshot):
    flaky = devnet.addresses[INFERENCE[FLAKY][0]]
    (slash,) = [e for e in devnet.client.events(names=["Slashed"]) if e["args"]["node"] == flaky]
    page.goto(f"{explorer.url}/#/nodes/{flaky}")
    row = page.locator(f'#slashes tr[data-round="{slash["args"]["roundId"]}"]')
    expect(row).to_contain_text(eth_text(slash["args"]["amount"]), timeout=TIMEOUT_MS)
    assert row.locator(f'a[data-tx="{slash["tx"]}"]').count() == 1
    stake = devnet.client.node(flaky)["stake"]
    expect(page.locator(".card", has_text="stake now")).to_contain_text(eth_text(stake))
    expect(page.locator(f'#history tr[data-round="{slash["args"]["roundId"]}"]')).to_contain_text("never revealed")
    screenshot(page, "node-slashed")

    row.locator(f'a[data-tx="{slash["tx"]}"]').click()
    expect(page.locator("h1")).to_have_text("Transaction", timeout=TIMEOUT_MS)
    expect(page.locator("main")).to_contain_text("settle(uint256,(address[],address[],address[],")  # v2: the lists
    expect(page.locator("#events")).to_contain_text("Slashed")
    screenshot(page, "settle-tx")

    page.goto(explorer.url + "/#/leaderboard")
    expect(page.locator("#models tbody tr").first).to_be_visible(timeout=TIMEOUT_MS)
    screenshot(page, "leaderboard")


def test_page_picks_up_a_round_settled_after_the_server_started(devnet, explorer, page, screenshot):
    page.goto(explorer.url + "/#/rounds")
    expect(page.locator("#rounds tbody tr[data-round]").first).to_be_visible(timeout=TIMEOUT_MS)
    rid = devnet.play()
    paid = settled_rounds(devnet.client)[rid]["paid"]
    row = page.locator(f'#rounds tr[data-round="{rid}"][data-stage="Settled"]')
    expect(row).to_be_visible(timeout=TIMEOUT_MS)  # no reload: the page polls and redraws
    expect(row.locator("td:nth-child(5) .eth")).to_have_text(eth_text(paid))
    expect(page.locator("#head")).to_have_text(f"#{devnet.client.w3.eth.block_number}")
