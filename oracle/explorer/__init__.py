"""The payout explorer: a local web page and JSON API over one PoQ deployment, read from the chain alone.

``index`` follows the contract's events block by block and folds them with
``oracle.chain.ledger``; ``views`` turns those folds and the contract's view calls into
JSON; ``server`` serves that JSON and the page in ``static/``; ``abi`` exports
the contract's ABI and metadata for other explorers and tools.
"""
