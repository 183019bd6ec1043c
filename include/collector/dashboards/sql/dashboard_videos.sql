-- One row per video of the collectors (all when the parameter ids is NULL) on a dashboard, newest first
-- per collector: its score, its collection version's pay, the live payout claim (status,
-- provider, failure) and the payout week (Monday, ET) it was collected in. Self-serve videos
-- are the owner's own data and not on the dashboard (FAQ 3). Read by
-- collector.dashboards.content.build_dashboards.
SELECT v.collector_id, v.video_id, v.collected_at, cv.name, s.score, s.threshold,
       s.status, s.reasons, s.perfect, cv.pay_per_video_cents, cv.perfect_bonus_cents,
       paid.status AS payout_status, paid.provider, paid.failure_reason,
       date_trunc('week', v.collected_at AT TIME ZONE 'America/New_York')::date,
       cv.kind
FROM videos v
JOIN collection_versions cv
  ON cv.collection_id = v.collection_id AND cv.version = v.collection_version
LEFT JOIN video_scores s USING (video_id)
LEFT JOIN (
    SELECT pv.video_id, i.status, i.provider, i.failure_reason
    FROM payout_item_videos pv JOIN payout_items i USING (item_id)
    WHERE pv.released_at IS NULL
      AND (%(ids)s::text[] IS NULL OR i.collector_id = ANY(%(ids)s::text[]))
) paid USING (video_id)
WHERE (%(ids)s::text[] IS NULL OR v.collector_id = ANY(%(ids)s::text[]))
  AND cv.kind <> 'self_serve'
ORDER BY v.collector_id, v.collected_at DESC, v.video_id
