"""The Monte Carlo engine behind ``poq simulate`` (see docs/SIMULATION.md).

``record_pool`` loads a recorded profile into per-task draws, ``engine`` draws
seeded rounds, ``scenarios`` says who deviates and how, ``types`` holds what
they all share, ``reference_backend`` and ``anvil_backend`` settle the rounds,
``stats``, ``adversary`` and ``results`` summarise them.
"""
