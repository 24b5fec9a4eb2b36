"""Fixtures of the explorer suite: a devnet with played rounds, the explorer serving it, a headless Chromium.

One Anvil and one PoQ per module (``oracle.chain.anvil.Anvil``, ``PoQClient.deploy``),
with four inference nodes and three evaluators. Round 1 is all honest; after it a
node withdraws; in round 2 one inference node commits and never reveals, so
settlement slashes it, and it then tops its stake up. Tests that need another round play it with ``play``.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from oracle.chain.anvil import Anvil
from oracle.chain.client import PoQClient, dev_account
from oracle.chain.scripted_round import ScriptedEvaluator, ScriptedInference, play_scripted_round
from oracle.chain.toolchain import ROOT
from oracle.explorer.index import ChainIndex
from oracle.explorer.server import ExplorerServer
from oracle.pipeline.quality.token_f1 import token_f1
from oracle.protocol.params import WAD, Params, Role, to_wad
from oracle.protocol.reward import Cost

CHROMIUM = Path("/usr/bin/chromium")
# Flags that keep a headless Chromium from reaching for hosts this machine cannot reach (ENVIRONMENT.md).
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = ROOT / "test-artifacts" / "explorer"

QUESTION = {"id": "explorer-broncos", "question": "Which NFL team won Super Bowl 50?",
            "context": "The Denver Broncos defeated the Carolina Panthers 24-10 to win Super Bowl 50."}
REFERENCE = "Denver Broncos"
# name, answer, attested cost (latency ms, tokens, peak MB)
INFERENCE = [("llama-accurate", "The Denver Broncos", (1_100, 5, 3_000)),
             ("smol-fast", "Broncos", (350, 3, 600)),
             ("qwen-wrong", "The Carolina Panthers", (4_200, 9, 3_500)),
             ("phi-flaky", "Denver", (2_000, 2, 2_000))]
EVALUATORS = [("f1-a", (40, 120, 200), 0), ("f1-b", (60, 120, 220), 2 * 10**16), ("f1-c", (900, 400, 1_500), -10**16)]
MODELS = {"llama-accurate": "llama-3.2-3b", "smol-fast": "smollm2-135m", "qwen-wrong": "qwen2-1.5b",
          "phi-flaky": "smollm2-135m"}
FLAKY = 3  # index in INFERENCE of the node that skips its reveal in round 2
BUDGET = 10**18


def _f1_scorer(noise: int):
    def score(outputs, reference):
        return [max(0, min(WAD, to_wad(token_f1(o, [reference])) + noise)) for o in outputs]
    return score


@dataclass
class Devnet:
    """The module's chain: client, accounts by name, and ``play(reveals)`` to settle one more round."""

    anvil: Anvil
    client: PoQClient
    names: dict[str, str]           # address -> name
    addresses: dict[str, str]       # name -> address
    play: Callable[..., int]

    def models(self) -> dict[str, str]:
        return {self.addresses[name]: model for name, model in MODELS.items()}


@pytest.fixture(scope="module")
def devnet():
    params = Params()
    with Anvil() as anvil:
        client = PoQClient.deploy(PoQClient.web3(anvil.url), dev_account(0), params)
        names, inference, evaluators = {}, [], []
        for i, (name, answer, cost) in enumerate(INFERENCE, start=1):
            acct = dev_account(i)
            client.register(acct, Role.INFERENCE, params.min_stake)
            inference.append((acct, answer, Cost(*cost)))
            names[acct.address] = name
        for j, (name, cost, noise) in enumerate(EVALUATORS, start=len(INFERENCE) + 1):
            acct = dev_account(j)
            client.register(acct, Role.EVALUATOR, params.min_stake)
            evaluators.append(ScriptedEvaluator(acct, _f1_scorer(noise), Cost(*cost)))
            names[acct.address] = name

        def play(silent: tuple[int, ...] = ()) -> int:
            """Settle one round; the inference nodes at indices ``silent`` commit and never reveal."""
            nodes = [ScriptedInference(a, out, cost, reveals=i not in silent)
                     for i, (a, out, cost) in enumerate(inference)]
            return play_scripted_round(client, dev_account(0), QUESTION, "qa", REFERENCE, nodes, evaluators,
                                       budget=BUDGET, committee_size=3)

        play()
        client.withdraw(inference[0][0])
        play(silent=(FLAKY,))
        # The slash took the flaky node below the minimum stake: it tops up to play again.
        client.transact(inference[FLAKY][0], "addStake", value=params.slash_amount)
        yield Devnet(anvil, client, names, {v: k for k, v in names.items()}, play)


@pytest.fixture(scope="module")
def explorer(devnet: Devnet):
    """The explorer serving the module's devnet on a free loopback port, from a background thread."""
    index = ChainIndex(devnet.client, 0, names=devnet.names, models=devnet.models())
    server = ExplorerServer(index, "127.0.0.1", 0, deploy_block=0)
    server.start_background()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    """Debian's headless Chromium driven by Playwright (never Playwright's own browser download)."""
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install it with `apt-get update && apt-get install -y chromium` "
                    "(`make test` does this when it is missing)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, f"the page threw: {errors}"


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where screenshots go (git-ignored): test-artifacts/explorer/, emptied once per session."""
    if ARTIFACTS.exists():
        shutil.rmtree(ARTIFACTS)
    ARTIFACTS.mkdir(parents=True)
    return ARTIFACTS


@pytest.fixture
def screenshot(artifacts: Path, capsys) -> Callable[..., Path]:
    """``screenshot(page, name)``: a full-page PNG under test-artifacts/explorer/, its path printed uncaptured."""
    def take(page, name: str) -> Path:
        path = artifacts / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        with capsys.disabled():
            print(f"\n  screenshot: {path}")
        return path
    return take
