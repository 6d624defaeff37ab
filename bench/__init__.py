"""`make bench` / `python -m bench`: the sync's speed measured from the outside.

Owns the benchmark only: a CRM of exact size (data), the processes it drives (stack: the
emulator over HTTP, the embedded Redis, `flask qbo worker --burst` subprocesses), the scenarios
(throughput against QuickBooks' limits, the python-quickbooks baseline, calls per entity, a
no-op run, the books check, scale and scale-out) and the report (a table and
bench/results/latest.json). It never imports the engine's internals: it writes CRM rows,
connects profiles through the public helpers and reads run rows and emulator statistics.
"""
