-- Rolled over into these batches (parameter batches) of the week (parameter week): a video from an earlier
-- week, or one whose earlier payment was released (with why). Set-based (hash joins), so the
-- cost stays linear whatever the planner's statistics. Read by
-- collector.payouts.report.build_report.
WITH live AS MATERIALIZED (
    SELECT i.collector_id, v.video_id, v.video_week
    FROM payout_items i JOIN payout_item_videos v USING (item_id)
    WHERE i.batch_id = ANY(%(batches)s) AND v.released_at IS NULL),
earlier AS (
    SELECT DISTINCT ON (pv.video_id) pv.video_id,
           'earlier payment ' || pi.status
           || coalesce(': ' || pi.failure_reason, '')
           || ' (batch ' || pi.batch_id || ')' AS why
    FROM payout_item_videos pv JOIN payout_items pi USING (item_id)
    JOIN live USING (video_id)
    WHERE pv.released_at IS NOT NULL
    ORDER BY pv.video_id, pv.released_at DESC)
SELECT live.collector_id, live.video_id, live.video_week, earlier.why
FROM live LEFT JOIN earlier USING (video_id)
WHERE live.video_week < %(week)s OR earlier.video_id IS NOT NULL
ORDER BY live.collector_id, live.video_id
