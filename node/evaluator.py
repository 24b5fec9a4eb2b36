"""The evaluator node daemon: scores every round whose committee it sits on.

On ``CommitteeDrawn`` naming this node, it reads the round's revealed outputs
(``OutputRevealed``, in score-index order) and revealed reference
(``ReferenceRevealed``) from the chain, scores them with its evaluator inside
``oracle.cost.measure`` (latency, tokens processed, peak memory), stores
scores, cost and salt durably, commits, and reveals in ScoreReveal.
An evaluator that needs a reference sits out a round whose requester revealed
none: it never commits, so it is never slashed.
"""

from __future__ import annotations

from node.follower import Daemon, round_record
from node.role import CommitRevealRole
from node.store import Record
from node.wire import decode_references, task_from_uri
from oracle.commitments import new_salt, scores_commitment
from oracle.params import Stage
from oracle.quality import scored
from oracle.reward import Cost
from oracle.params import to_wad


class EvaluatorRole(CommitRevealRole):
    commit_stage = Stage.SCORE_COMMIT
    reveal_stage = Stage.SCORE_REVEAL
    paid_field = "evaluator_paid"
    score_field = "agreement"

    def __init__(self, daemon: Daemon, evaluator, evaluator_name: str) -> None:
        super().__init__(daemon)
        self.evaluator = evaluator
        self.evaluator_name = evaluator_name

    def register(self) -> None:
        super().register()

        @self.d.on("CommitteeDrawn")
        def committee_drawn(ev: dict) -> None:
            if self.me in ev["args"]["members"]:
                self.step(ev["args"]["roundId"], ev)

    def plan(self, round_id: int, state: dict, trigger: dict | None) -> Record | None:
        # Only the CommitteeDrawn event naming this node (checked by its handler) starts a round for an
        # evaluator, so membership needs no further call to the chain.
        if trigger is None or trigger["event"] != "CommitteeDrawn":
            return None
        if Stage(state["stage"]) != Stage.SCORE_COMMIT or state["expired"]:
            return None
        record = round_record(self.client, round_id, self.opened_block(round_id))
        task = task_from_uri(record.uri, state["task_hash"], decode_references(record.reference))
        outputs = [o["output"] for o in record.outputs]  # index order == reveal order
        if self.evaluator.needs_reference and not task.references:
            self.log.warning("round %d: %s needs a reference and the requester revealed none: sitting it out",
                             round_id, self.evaluator_name)
            return None
        result = scored(self.evaluator, task, outputs)
        scores = [to_wad(s) for s in result.scores]
        cost = Cost.measured(result.cost.latency_ms, result.cost.tokens, result.cost.peak_memory_mb)
        salt = new_salt()
        commitment = scores_commitment(self.client.chain_id, self.client.address, round_id, self.me, scores, cost,
                                       salt)
        self.log.info("round %d: %s scored %d outputs %s in %d ms (%d tokens, %d MB)", round_id,
                      self.evaluator_name, len(scores), [round(s, 3) for s in result.scores], cost.latency_ms,
                      cost.tokens, cost.memory_mb)
        return self.planned(round_id, {
            "task_id": task.id, "scores": scores, "cost": list(cost.as_tuple()), "salt": salt.hex(),
            "commitment": commitment.hex(), "evaluator": self.evaluator_name,
        })

    def entry(self, round_id: int) -> dict:
        return self.client.evaluation(round_id, self.me)

    def send_commit(self, round_id: int, rec: Record) -> None:
        self.client.commit_scores(self.d.account, round_id, bytes.fromhex(rec.data["commitment"]))

    def send_reveal(self, round_id: int, rec: Record) -> None:
        self.client.reveal_scores(self.d.account, round_id, rec.data["scores"], Cost(*rec.data["cost"]),
                                  bytes.fromhex(rec.data["salt"]))


def run(daemon: Daemon, evaluator, evaluator_name: str) -> None:
    """Attach the evaluator role to ``daemon`` and follow the chain until stopped."""
    EvaluatorRole(daemon, evaluator, evaluator_name).register()
    daemon.run()
