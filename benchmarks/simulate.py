"""Benchmark of ``poq simulate``: reference and Anvil backends, and Anvil's raw throughput.

Times, on one profile and seed: the reference backend over --rounds rounds
(draws + settlement, median of --repeat runs); the Anvil backend over the same
rounds (one run: start Anvil, deploy, play, check every round to the wei);
and, on a fresh Anvil started the same way, plain value transfers sent the
same way (batched ``eth_sendTransaction``, explicit nonces, one ``evm_mine``
per block of the same size), median of --repeat runs. Reports the
simulation's transactions per second as a fraction of that raw rate.

    .venv/bin/python benchmarks/simulate.py [--profile PATH] [--rounds 5000] [--reference-only]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from oracle.chain.anvil import Anvil
from oracle.chain.jsonrpc import LeanRpc, Tx
from oracle.protocol.params import Params
from oracle.simulation.anvil_backend import BLOCK_GAS_LIMIT, ROUNDS_PER_BLOCK, AnvilBackend
from oracle.simulation.engine import SimulationConfig, draw_rounds, sim_rounds
from oracle.simulation.record_pool import DEFAULT_PROFILE, load_pool
from oracle.simulation.reference_backend import ReferenceBackend
from oracle.simulation.scenarios import Scenario


def raw_transfers(total: int, per_block: int, senders: int) -> float:
    """Plain value transfers per second, sent and mined like the simulation's transactions."""
    with Anvil(accounts=senders + 1, gas_limit=BLOCK_GAS_LIMIT) as anvil:
        rpc = LeanRpc(anvil.url)
        rpc.call("evm_setAutomine", [False])
        accounts = rpc.call("eth_accounts")
        receiver = accounts[-1]
        txs = [Tx(accounts[k % senders], receiver, b"", 21_000, 1) for k in range(total)]
        before = int(rpc.call("eth_getBalance", [receiver, "latest"]), 16)
        start = time.perf_counter()
        for i in range(0, total, per_block):
            rpc.send(txs[i:i + per_block])
            rpc.mine()
        elapsed = time.perf_counter() - start
        mined = int(rpc.call("eth_getBalance", [receiver, "latest"]), 16) - before
        if mined != total:
            raise RuntimeError(f"only {mined} of {total} transfers were mined")
        return total / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", type=Path, default=DEFAULT_PROFILE)
    parser.add_argument("--rounds", type=int, default=5_000)
    parser.add_argument("--slots", type=int, default=5)
    parser.add_argument("--committee", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--reference-only", action="store_true", help="time the reference backend only")
    args = parser.parse_args()

    pool = load_pool(args.profile)
    base = Params()
    inf, ev = pool.suggested_cost_models(args.slots, base.inference_cost, base.evaluator_cost)
    params = base.with_(inference_cost=inf, evaluator_cost=ev)
    config = SimulationConfig(args.rounds, args.slots, args.committee, args.seed)

    reference = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        rounds = sim_rounds(pool, draw_rounds(pool, config), Scenario(), args.seed)
        ReferenceBackend().run(rounds, params)
        reference.append(time.perf_counter() - start)
    if args.reference_only:
        print(json.dumps({"rounds": args.rounds, "reference_s_median": statistics.median(reference),
                          "reference_runs_s": reference}, indent=2))
        return

    backend = AnvilBackend()
    start = time.perf_counter()
    backend.run(rounds, params)
    anvil_wall = time.perf_counter() - start
    per_block = ROUNDS_PER_BLOCK * args.slots  # the largest stage block: every slot's commit
    senders = 1 + args.slots + args.committee  # the simulation's requester, slots and committee
    raw = [raw_transfers(backend.stats["transactions"], per_block, senders) for _ in range(args.repeat)]

    result = {
        "profile": str(args.profile), "tasks": len(pool.tasks), "models": len(pool.models),
        "evaluators": len(pool.evaluators), "rounds": args.rounds, "slots": args.slots,
        "committee": args.committee,
        "reference_s_median": statistics.median(reference), "reference_runs_s": reference,
        "anvil_s": anvil_wall, "anvil_play_s": backend.stats["seconds"],
        "anvil_transactions": backend.stats["transactions"], "anvil_tx_per_s": backend.stats["tx_per_s"],
        "raw_transfer_tx_per_s_median": statistics.median(raw), "raw_transfer_runs": raw,
    }
    result["simulation_vs_raw"] = result["anvil_tx_per_s"] / result["raw_transfer_tx_per_s_median"]
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
