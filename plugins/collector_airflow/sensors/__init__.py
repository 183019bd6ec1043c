"""Sensors over our providers and ledger."""
