"""The evaluator node daemon: scores every round whose committee it sits on.

On ``CommitteeDrawn`` naming this node it first stores a ``drawn`` record
(durably), then reads the round's revealed outputs (``OutputRevealed``, in
score-index order: ascending node address, whatever the order of the reveals)
and revealed reference (``ReferenceRevealed``) from the chain, scores them
with its evaluator inside ``oracle.pipeline.cost.measure`` (latency, tokens processed,
peak memory), stores scores, cost and salt durably, commits, and reveals in
ScoreReveal. A ``drawn`` round whose scoring failed is retried on every
recheck until ScoreCommit closes, because a drawn member that never commits is
slashed.

When the evaluator needs a reference and the round has none to give:

* the requester committed to a reference and withheld it: the daemon sits the
  round out (``sat_out``). It has nothing honest to score against, and the
  contract does not slash absence in a withheld round (the unpaid pools go to
  the nodes that did their part). A reference-free evaluator scores as usual.
* the round was opened without a reference: absence *is* slashed, so the
  daemon scores against the task's source text (its passage or article) in
  place of a reference, a reference-free proxy, and commits as usual.

Both cases are logged as warnings, with the reason.
"""

from __future__ import annotations

from dataclasses import replace

from node.commit_reveal import DRAWN, MISSED, SAT_OUT, CommitRevealRole, key
from node.daemon import Daemon, round_record
from node.store import Record
from oracle.pipeline.quality import scored
from oracle.protocol.commitments import new_salt, scores_commitment
from oracle.protocol.params import Stage, to_wad
from oracle.protocol.reward import Cost
from oracle.protocol.task import decode_references, task_from_uri


def withheld(state: dict) -> bool:
    """The requester committed to a reference and did not reveal it (the round's state, from ``round()``)."""
    return state["has_reference"] and not state["reference_revealed"]


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
            if self.me not in ev["args"]["members"]:
                return
            rid = ev["args"]["roundId"]
            if self.store.get(key(rid)) is None:
                # Durable before any work: if scoring fails or the daemon dies, the recheck and the
                # restart find the round again (a drawn member that never commits is slashed).
                self.store.put(key(rid), DRAWN, {"opened_block": self.opened_block(rid)})
                self.log.info("round %d: drawn for the committee (%d members)", rid, len(ev["args"]["members"]))
            self.step(rid, ev)

    def missed_commit(self, round_id: int, state: dict) -> str:
        if withheld(state):
            return "the requester withheld its reference, so the contract does not slash this absence"
        return "a drawn member that never commits is slashed at settlement"

    def plan(self, round_id: int, state: dict, trigger: dict | None, rec: Record | None) -> Record | None:
        # Only the CommitteeDrawn event naming this node (checked by its handler, which stores the
        # ``drawn`` record) starts a round for an evaluator, so membership needs no further call.
        if rec is None or rec.status != DRAWN:
            return None
        if Stage(state["stage"]) != Stage.SCORE_COMMIT or state["expired"]:
            self.store.update(rec, MISSED, done=True)
            self.log.warning("round %d: the %s stage closed before this node could score: %s", round_id,
                             Stage.SCORE_COMMIT.name, self.missed_commit(round_id, state))
            return None
        short = self.stake_short(state)
        if short is not None:  # the record stays ``drawn``: a top-up before the deadline still saves the round
            self.log.error("round %d: drawn, but the %s: the contract will refuse this node's commit and slash "
                           "its absence unless the stake is topped up before the ScoreCommit deadline", round_id,
                           short)
            return None
        record = round_record(self.client, round_id, self.opened_block(round_id, rec))
        if len(record.outputs) != state["reveals"]:
            raise RuntimeError(f"round {round_id}: read {len(record.outputs)} revealed outputs from the events, "
                               f"the contract counts {state['reveals']}: will read again")
        task = task_from_uri(record.uri, record.task_hash, decode_references(record.reference))
        outputs = [o["output"] for o in record.outputs]  # ascending node address == score-index order
        how = "against the revealed reference" if task.references else "reference-free"
        if self.evaluator.needs_reference and not task.references:
            if withheld(state):
                self.store.update(rec, SAT_OUT, done=True, reason="reference withheld")
                self.log.warning("round %d: the requester withheld its reference and %s needs one: sitting the "
                                 "round out (not committing). The contract does not slash absence in a withheld "
                                 "round; the unpaid pools go to the nodes that did their part", round_id,
                                 self.evaluator_name)
                return None
            task = replace(task, references=(task.context,))
            how = "against the task's source text (no reference was committed)"
            self.log.warning("round %d: the round has no reference and %s needs one: scoring the outputs against "
                             "the task's source text instead, since a drawn member that never commits is "
                             "slashed", round_id, self.evaluator_name)
        result = scored(self.evaluator, task, outputs)
        scores = [to_wad(s) for s in result.scores]
        cost = Cost.measured(result.cost.latency_ms, result.cost.tokens, result.cost.peak_memory_mb)
        salt = new_salt()
        commitment = scores_commitment(self.client.chain_id, self.client.address, round_id, self.me, scores, cost,
                                       salt)
        self.log.info("round %d: %s scored %d outputs %s %s in %d ms (%d tokens, %d MB)", round_id,
                      self.evaluator_name, len(scores), [round(s, 3) for s in result.scores], how,
                      cost.latency_ms, cost.tokens, cost.memory_mb)
        return self.planned(round_id, {
            "task_id": task.id, "scores": scores, "cost": list(cost.as_tuple()), "salt": salt.hex(),
            "commitment": commitment.hex(), "evaluator": self.evaluator_name,
            "outputs": [o["node"] for o in record.outputs],
        }, rec)

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
