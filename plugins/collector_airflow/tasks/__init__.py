"""Task glue, one module per domain stage (``collector.<stage>``): what a task reads from the run,
the hooks it needs, and the domain calls it makes. No SQL here: queries live in the stage.

Light to import: the DAG files import these modules at parse time only when they must
(``payouts`` holds the weekly payout's ``@task`` functions); heavy imports are inside functions.
"""
