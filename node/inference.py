"""The inference node daemon: answers every open round it can take.

On ``RoundOpened`` it reads the task from the event's ``data:`` URI (checked
against the task hash), renders the prompt, runs its model, takes the measured
latency, output tokens and peak memory as its cost attestation, stores output,
cost and salt durably, commits, and reveals when the round enters Reveal.
"""

from __future__ import annotations

from oracle.commitments import new_salt, output_commitment
from oracle.params import Stage
from oracle.prompts import render
from oracle.reward import Cost
from node.follower import Daemon
from node.role import CommitRevealRole
from node.store import Record
from node.wire import task_from_uri


class InferenceRole(CommitRevealRole):
    commit_stage = Stage.COMMIT
    reveal_stage = Stage.REVEAL
    paid_field = "inference_paid"
    score_field = "quality"

    def __init__(self, daemon: Daemon, backend, model_name: str, max_new_tokens: int = 64) -> None:
        super().__init__(daemon)
        self.backend = backend
        self.model_name = model_name
        self.max_new_tokens = max_new_tokens

    def register(self) -> None:
        super().register()

        @self.d.on("RoundOpened")
        def round_opened(ev: dict) -> None:
            self.step(ev["args"]["roundId"], ev)

    def plan(self, round_id: int, state: dict, trigger: dict | None) -> Record | None:
        if trigger is None or trigger["event"] != "RoundOpened":
            return None  # only a RoundOpened event starts a round for an inference node: it carries the task
        opened = trigger["args"]
        if Stage(state["stage"]) != Stage.COMMIT or state["expired"] or state["commits"] >= state["slots"]:
            self.log.info("round %d: not taking it (stage %s, %d/%d slots committed)", round_id,
                          Stage(state["stage"]).name, state["commits"], state["slots"])
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


def run(daemon: Daemon, backend, model_name: str, max_new_tokens: int) -> None:
    """Attach the inference role to ``daemon`` and follow the chain until stopped."""
    InferenceRole(daemon, backend, model_name, max_new_tokens).register()
    daemon.run()
