"""``ape run deploy``: deploy PoQ with ``oracle.protocol.params.Params`` on any network ape knows.

The same contract, constructor arguments and deployment file as ``poq devnet
up``, for ape users: the deployment file (chain id, address, deploy block,
ABI hash, RPC URL) is what ``poq node``, ``poq requester`` and ``poq payouts``
read. Nodes register themselves on a real network, so the file lists none.

    ape run deploy --network ethereum:local:foundry --account deployer --deployment .poq/deployment.json
"""

from pathlib import Path

import click
from ape.cli import ConnectedProviderCommand, account_option


@click.command(cls=ConnectedProviderCommand, short_help="deploy PoQ and write the deployment file")
@account_option()
@click.option("--deployment", default=".poq/deployment.json", show_default=True, help="deployment file to write")
def cli(provider, account, deployment):
    from ape import project

    from oracle.chain.artifacts import poq_artifact
    from oracle.chain.deployment import Deployment, abi_sha256
    from oracle.protocol.params import Params

    params = Params()
    poq = project.PoQ.deploy(params.as_contract_tuple(), sender=account)
    receipt = poq.creation_metadata.receipt
    out = Deployment(chain_id=provider.chain_id, address=poq.address, deploy_block=receipt.block_number,
                     deploy_block_hash="0x" + bytes(provider.get_block(receipt.block_number).hash).hex(),
                     rpc_url=provider.uri, abi_sha256=abi_sha256(poq_artifact().abi), params=params.to_dict(),
                     path=Path(deployment))
    click.echo(f"PoQ deployed at {poq.address} (chain {provider.chain_id}, block {receipt.block_number}); "
               f"wrote {out.save()}")
