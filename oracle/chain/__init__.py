"""The chain: the PoQ client, deployment file, ledger, devnet, event follower, raw JSON-RPC."""
