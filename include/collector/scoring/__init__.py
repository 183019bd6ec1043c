"""Scoring: automated checks and ratings become scores, statuses and Accepted? (`scores`). DAG: score_aggregation."""
