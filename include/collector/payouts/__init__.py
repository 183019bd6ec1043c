"""Payouts: the weekly payout ledger, frozen, approved, submitted and reconciled exactly once (`ledger`), and finance's report (`report`). DAG: weekly_payout."""
