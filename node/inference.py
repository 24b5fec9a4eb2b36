"""The inference node daemon: answers every open round it can take.

On ``RoundOpened`` it reads the task from the event's ``data:`` URI (checked
against the task hash), renders the prompt, runs its model, takes the measured
latency, output tokens and peak memory as its cost attestation, stores output,
cost and salt durably, commits, and reveals when the round enters Reveal.

It refuses dust rounds before running anything: one whose slot share
(``inferencePool / slots``) is below ``min_slot_share`` wei (``--min-slot-share-eth``,
default ``DEFAULT_MIN_SLOT_SHARE``), or whose best possible pay
(share x ``alphaInference``, the round's own parameters) would not cover the gas of
a commit and a reveal at the current gas price. Each refusal is logged with the
numbers. (The contract itself refuses budgets below ``Params.min_budget``.)
"""

from __future__ import annotations

from node.commit_reveal import CommitRevealRole, eth
from node.daemon import Daemon
from node.store import Record
from oracle.pipeline.prompts import render
from oracle.protocol.commitments import new_salt, output_commitment
from oracle.protocol.params import WAD, Stage
from oracle.protocol.reward import Cost
from oracle.protocol.task import task_from_uri

# The least slot share (wei) the daemon works for unless told otherwise: 0.0001 ETH. A round at the
# contract's default minimum budget (0.001 ETH, 80% to inference) pays this per slot up to 8 slots.
DEFAULT_MIN_SLOT_SHARE = 10**14
# Gas of one commitOutput plus one revealOutput of a short answer, with margin (BENCHMARKS.md measures
# about 100k and 120k; the reveal that draws the committee more): what a slot must at least pay back.
COMMIT_REVEAL_GAS = 250_000


class InferenceRole(CommitRevealRole):
    commit_stage = Stage.COMMIT
    reveal_stage = Stage.REVEAL
    paid_field = "inference_paid"
    score_field = "quality"

    def __init__(self, daemon: Daemon, backend, model_name: str, max_new_tokens: int = 64,
                 min_slot_share: int = DEFAULT_MIN_SLOT_SHARE) -> None:
        super().__init__(daemon)
        self.backend = backend
        self.model_name = model_name
        self.max_new_tokens = max_new_tokens
        self.min_slot_share = min_slot_share

    def register(self) -> None:
        super().register()

        @self.d.on("RoundOpened")
        def round_opened(ev: dict) -> None:
            self.step(ev["args"]["roundId"], ev)

    def dust(self, round_id: int, state: dict) -> str | None:
        """Why round ``round_id`` pays too little to take (None if it pays enough)."""
        share = state["inference_pool"] // state["slots"]
        what = f"its slot share {eth(share)} (inference pool {eth(state['inference_pool'])} / {state['slots']} slots)"
        if share < self.min_slot_share:
            return f"{what} is below this node's minimum {eth(self.min_slot_share)} (--min-slot-share-eth)"
        best = share * self.client.params(state["params_version"]).alpha_inference // WAD
        gas_price = self.client.w3.eth.gas_price
        gas = gas_price * COMMIT_REVEAL_GAS
        if best < gas:
            return (f"{what} pays at most {eth(best)} (alpha_inference), less than the ~{COMMIT_REVEAL_GAS:,} gas "
                    f"of a commit and a reveal at {gas_price / 1e9:g} gwei ({eth(gas)})")
        return None

    def plan(self, round_id: int, state: dict, trigger: dict | None, rec: Record | None) -> Record | None:
        if trigger is None or trigger["event"] != "RoundOpened":
            return None  # only a RoundOpened event starts a round for an inference node: it carries the task
        opened = trigger["args"]
        if Stage(state["stage"]) != Stage.COMMIT or state["expired"] or state["commits"] >= state["slots"]:
            self.log.info("round %d: not taking it (stage %s, %d/%d slots committed)", round_id,
                          Stage(state["stage"]).name, state["commits"], state["slots"])
            return None
        short = self.stake_short(state)
        if short is not None:
            self.log.info("round %d: not taking it: %s", round_id, short)
            return None
        dust = self.dust(round_id, state)
        if dust is not None:
            self.log.info("round %d: not taking it, a dust round: %s", round_id, dust)
            return None
        task = task_from_uri(opened["uri"], opened["taskHash"])
        prompt = render(task)
        generation = self.backend.generate(prompt, max_new_tokens=self.max_new_tokens)
        output = generation.text.strip()
        cost = Cost.measured(generation.latency_ms, generation.output_tokens, generation.peak_memory_mb)
        salt = new_salt()
        commitment = output_commitment(self.client.chain_id, self.client.address, round_id, self.me, output, cost,
                                       salt)
        self.log.info("round %d: %s answered %r in %d ms (%d tokens, %d MB)", round_id, self.model_name,
                      output[:80], cost.latency_ms, cost.tokens, cost.memory_mb)
        return self.planned(round_id, {
            "task_id": task.id, "output": output, "cost": list(cost.as_tuple()), "salt": salt.hex(),
            "commitment": commitment.hex(), "model": self.model_name,
        })

    def entry(self, round_id: int) -> dict:
        return self.client.submission(round_id, self.me)

    def send_commit(self, round_id: int, rec: Record) -> None:
        self.client.commit_output(self.d.account, round_id, bytes.fromhex(rec.data["commitment"]))

    def send_reveal(self, round_id: int, rec: Record) -> None:
        self.client.reveal_output(self.d.account, round_id, rec.data["output"], Cost(*rec.data["cost"]),
                                  bytes.fromhex(rec.data["salt"]))


def run(daemon: Daemon, backend, model_name: str, max_new_tokens: int,
        min_slot_share: int = DEFAULT_MIN_SLOT_SHARE) -> None:
    """Attach the inference role to ``daemon`` and follow the chain until stopped."""
    InferenceRole(daemon, backend, model_name, max_new_tokens, min_slot_share).register()
    daemon.run()
