"""The collection platform's domain: parsing, validation, warehouse access and rules.

One subpackage per stage of the pipeline (``intake``, ``catalog``, ``review``, ``scoring``,
``dashboards``, ``payouts``, ``release``, ``delivery``, ``accounts``, ``notify``) over ``core``,
the vocabulary they share (docs/architecture.md). Nothing in this package imports Airflow, so an
engineer can use it from a notebook or the ``collector`` CLI exactly as the DAGs do.
"""

__version__ = "0.1.0"
