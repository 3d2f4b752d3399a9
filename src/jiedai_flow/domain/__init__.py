"""The domain 领域: what a reception is and what judges it — value objects (公函、来宾、方案、清单), the
reception aggregate and its records, findings, standards and their TOML files, the working-day
calendar, the clock, the budget ledger, loading plain data into value objects, and sample data.

Nothing here knows the engine, storage or the command line.
"""
