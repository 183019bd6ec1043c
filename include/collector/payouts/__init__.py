"""Payouts: the weekly payout, paid exactly once (FAQ 6). DAG: weekly_payout.

``ledger`` freezes a week into batches, approves, closes and checks that a week is settled;
``submission`` cuts batches into provider chunks under idempotency keys, records what the
provider answered and reconciles; ``profiles`` holds collectors' payment details; ``report`` is
finance's report of a run (HTML + CSV, recorded with their SHA-256). Long set-based statements
are in ``sql/``.
"""
