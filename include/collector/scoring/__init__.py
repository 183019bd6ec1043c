"""Scoring: automated checks and ratings become scores, statuses and Accepted? (``scores``; the
set-based statement in ``sql/score_videos.sql``, the rules in docs/scoring.md; ``accepted``: the
Accepted? decision every surface renders). DAG: score_aggregation."""
