"""Node daemons: the inference, evaluator and requester roles on one event-following runtime.

See docs/DAEMONS.md: `follower` (runtime and cursor), `store` (durable state), `role` (the
commit-reveal state machine), `rpc` (faults and backoff), `keys`, `wire` (tasks on chain).
"""
