"""Assets the pipelines exchange (docs/pipelines.md): a producer's outlet is a consumer's schedule.

Plain names, not ``postgres://`` URIs: those are validated at parse time (docs/airflow-facts.md).
"""

from airflow.sdk import Asset

SUBMISSIONS = Asset("collector.submissions")
QUICKLOOKS = Asset("collector.quicklooks")
COLLECTIONS = Asset("collector.collections")
RATINGS = Asset("collector.activity_ratings")
SCORES = Asset("collector.video_scores")
PAYOUTS = Asset("collector.payouts")
RELEASES = Asset("collector.dataset_releases")
