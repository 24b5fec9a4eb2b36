"""The Monte Carlo engine behind ``poq simulate`` (see docs/SIMULATION.md).

``profile_pool`` loads a recorded profile into per-task draws, ``engine`` draws
seeded rounds, ``scenarios`` says who deviates and how, ``reference_backend``
and ``anvil_backend`` settle the rounds, ``stats``, ``adversary`` and
``report`` summarise them.
"""
