"""The one event follower on a real Anvil: batches, a reorg under it, and a chain replaced under it.

A reorg is played with Anvil's snapshots: the follower reads past a snapshot, the chain is reverted to it
and grows again with other blocks, so the block the follower read last has another hash.
"""

from __future__ import annotations

import pytest

from oracle.chain.anvil import Anvil
from oracle.chain.client import PoQClient, dev_account
from oracle.chain.follower import DeploymentChanged, Follower
from oracle.protocol.params import Params, Role


def _all(follower: Follower, after=None):
    batches = list(follower.batches(after))
    return batches, [e for b in batches for e in b.events]


def test_the_follower_reads_everything_once_and_rereads_after_a_reorg():
    params = Params()
    with Anvil() as anvil:
        w3 = PoQClient.web3(anvil.url)
        client = PoQClient.deploy(w3, dev_account(0), params)
        start = client.events(0, names=["ParamsUpdated"])[0]["block"]
        follower = Follower(client, start, anchor=client.block_hash(start))
        client.register(dev_account(2), Role.INFERENCE, params.min_stake)

        batches, events = _all(follower)
        names = [e["event"] for e in events]
        assert names.count("NodeRegistered") == 1 and "ParamsUpdated" in names
        position = batches[-1].position
        assert position.hash == client.block_hash(position.block) and not any(b.rewound for b in batches)
        assert _all(follower, position)[1] == []  # nothing new: nothing handed out twice

        snapshot = w3.provider.make_request("evm_snapshot", [])["result"]
        client.register(dev_account(3), Role.EVALUATOR, params.min_stake)
        batches, events = _all(follower, position)
        assert [e["event"] for e in events] == ["NodeRegistered"]
        seen = batches[-1].position

        w3.provider.make_request("evm_revert", [snapshot])  # the block `seen` names is gone ...
        client.resync_nonce(dev_account(3).address)
        w3.provider.make_request("anvil_mine", ["0x3"])  # ... and the chain grows past it with other blocks
        assert client.block_hash(seen.block) != seen.hash
        batches, events = _all(follower, seen)
        assert batches[0].rewound  # it starts over from the deploy block rather than miss or keep stale events
        assert [e["event"] for e in events] == names  # the reverted registration is not among them


def test_a_follower_anchored_at_the_deploy_block_refuses_a_replaced_chain():
    with Anvil() as first:
        client = PoQClient.deploy(PoQClient.web3(first.url), dev_account(0), Params())
        anchor = client.block_hash(1)
    with Anvil() as second:  # the same address on the same chain id: only the hash differs
        client = PoQClient.deploy(PoQClient.web3(second.url), dev_account(0), Params())
        with pytest.raises(DeploymentChanged, match="the chain was replaced"):
            list(Follower(client, 1, anchor=anchor).batches(None))
