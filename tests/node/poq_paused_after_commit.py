"""``poq`` with a pause right after a daemon's commit is sent and recorded: the tests' way into the
commit -> reveal window, kept out of the daemons themselves.

``POQ_TEST_PAUSE_AFTER_COMMIT=SECONDS python tests/node/poq_paused_after_commit.py node ...`` runs the
daemon as ``poq node ...`` would, except that once a commitment this process sent is on chain and its
record says ``committed``, it logs ``pausing`` and sleeps, so a test can SIGKILL it there. A record
moved to ``committed`` without a commit of this process (a resume after a restart) does not pause.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # this checkout's packages, as `python -m poq`

from node.store import Store  # noqa: E402
from oracle.chain.client import PoQClient  # noqa: E402
from poq.main import main  # noqa: E402

PAUSE_ENV = "POQ_TEST_PAUSE_AFTER_COMMIT"


def install(seconds: float) -> None:
    sent: set[int] = set()  # rounds this process sent a commitment in, not yet recorded as committed

    def sending(original):
        def send(self, account, round_id, commitment):
            receipt = original(self, account, round_id, commitment)
            sent.add(round_id)
            return receipt
        return send

    PoQClient.commit_output = sending(PoQClient.commit_output)
    PoQClient.commit_scores = sending(PoQClient.commit_scores)
    update = Store.update

    def update_then_pause(self, record, status, done=False, **changes):
        written = update(self, record, status, done, **changes)
        round_id = int(record.key.split(":")[1]) if record.key.startswith("round:") else None
        if status == "committed" and round_id in sent:
            sent.discard(round_id)
            logging.getLogger("test-hook").warning("round %d: pausing %.0fs after the commit (%s)", round_id,
                                                   seconds, PAUSE_ENV)
            time.sleep(seconds)
        return written

    Store.update = update_then_pause


if __name__ == "__main__":
    pause = float(os.environ.get(PAUSE_ENV, "0") or 0)
    if pause:
        install(pause)
    sys.exit(main(sys.argv[1:]))
