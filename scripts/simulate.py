"""``ape run simulate``: the Monte Carlo engine played on the network ape is connected to.

The same engine and checks as ``poq simulate --backend anvil``, on the Anvil
that ape started (or connected to) instead of one of its own: it deploys a
fresh PoQ there and needs Anvil's RPC methods (automine, mining, balances).

    ape run simulate --network ethereum:local:foundry --rounds 500
"""

import click
from ape.cli import ConnectedProviderCommand


@click.command(cls=ConnectedProviderCommand, short_help="Monte Carlo of PoQ rounds on ape's network")
@click.option("--profile", default=None, help="records.jsonl (default: oracle/profiles/default/records.jsonl)")
@click.option("--rounds", default=500, show_default=True, help="rounds to play")
@click.option("--seed", default=0, show_default=True, help="seed of the draws")
@click.option("--scenario", default="honest", show_default=True, help="honest, an adversary scenario, or all")
@click.option("--out", default="runs/simulate-ape", show_default=True, help="output folder")
def cli(provider, profile, rounds, seed, scenario, out):
    from poq.main import main

    argv = ["simulate", "--backend", "anvil", "--rpc", provider.uri, "--rounds", str(rounds), "--seed", str(seed),
            "--scenario", scenario, "--out", out]
    if profile:
        argv += ["--profile", profile]
    raise SystemExit(main(argv))
