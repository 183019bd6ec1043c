-- Score videos, set-based (docs/scoring.md). Parameters:
--   %(video_ids)s      text[] of videos to score, or NULL for every video
--   %(rules_version)s  the rule set to apply
-- Writes activity_scores and video_scores for those videos; an existing score that changes is
-- also recorded in video_score_changes. Rows that do not change are not touched, so rerunning
-- is a no-op and any order of partial runs converges to one full re-score.
WITH rules AS (
    SELECT * FROM scoring_rule_sets WHERE rules_version = %(rules_version)s
),
label_rules AS (
    SELECT label, effect, factor FROM scoring_label_rules WHERE rules_version = %(rules_version)s
),
target AS (
    SELECT v.video_id, v.collector_id, v.collection_id, v.collection_version, v.collected_at,
           v.duration_s, v.app_version, v.subject_ids, v.latitude, v.longitude, v.gps_accuracy_m,
           cv.required_activity_count, cv.activity_shortnames, cv.min_duration_s,
           cv.min_app_version, cv.rate_limit_hours, cv.score_threshold,
           cv.geofence_lat, cv.geofence_lon, cv.geofence_radius_m, cv.kind = 'paid' AS paid,
           -- a collection with paid and unpaid versions (promoted from self-serve, or made
           -- paid from practice): its videos are compared with videos of their own side only
           v.collection_id IN (SELECT collection_id FROM collection_versions
                               WHERE kind <> 'paid') AS mixed_kinds
    FROM videos v
    JOIN collection_versions cv
      ON cv.collection_id = v.collection_id AND cv.version = v.collection_version
    WHERE (%(video_ids)s::text[] IS NULL OR v.video_id = ANY(%(video_ids)s::text[]))
      -- Self-serve videos (FAQ 3) belong to their owner: never reviewed, never scored for pay.
      AND cv.kind <> 'self_serve'
),
-- semver_key() once per distinct version, not once per video: the function cannot be inlined
-- (it reads a regexp_match) and costs ~50 us a call, most of a full re-score when called per row.
version_keys AS (
    SELECT version, semver_key(version) AS key
    FROM (SELECT app_version FROM target UNION SELECT min_app_version FROM target) x(version)
    WHERE version IS NOT NULL
),
-- Subjects the video names who have no consent on file (FAQ 10): the video is held.
consent_gaps AS (
    SELECT t.video_id, array_agg(s.subject ORDER BY s.n) AS missing
    FROM target t
    CROSS JOIN LATERAL unnest(t.subject_ids) WITH ORDINALITY AS s(subject, n)
    WHERE NOT EXISTS (SELECT 1 FROM consent_records c WHERE c.subject_email = s.subject)
    GROUP BY t.video_id
),
-- A reviewer's verdict on one activity depends on the labels of the rating alone, so each
-- distinct set of labels is scored once (there are few), not each rating: the product of the
-- labels' factors. A label the rule set does not know counts as pending: no money on an
-- unknown rule.
label_sets AS (
    SELECT DISTINCT r.labels FROM activity_ratings r JOIN target t USING (video_id)
),
label_set_scores AS (
    SELECT ls.labels,
           CASE WHEN bool_or(lr.effect = 'factor' AND lr.factor = 0) THEN 0
                ELSE round(exp(sum(CASE WHEN lr.effect = 'factor' AND lr.factor > 0 THEN ln(lr.factor) ELSE 0 END)), 6)
           END AS score,
           bool_or(coalesce(lr.effect, 'pending') = 'pending') AS pending,
           bool_or(lr.effect = 'block') AS blocks,
           bool_or(lr.effect = 'hold') AS holds
    FROM label_sets ls
    CROSS JOIN LATERAL unnest(ls.labels) AS label
    LEFT JOIN label_rules lr USING (label)
    GROUP BY ls.labels
),
reviewer_scores AS (
    SELECT r.video_id, r.activity_index, r.reviewer_email, s.score, s.pending, s.blocks, s.holds
    FROM activity_ratings r
    JOIN target t USING (video_id)
    JOIN label_set_scores s USING (labels)
),
activity_labels AS (
    SELECT r.video_id, r.activity_index, array_agg(DISTINCT label ORDER BY label) AS labels
    FROM activity_ratings r
    JOIN target t USING (video_id)
    CROSS JOIN LATERAL unnest(r.labels) AS label
    GROUP BY r.video_id, r.activity_index
),
-- a video's labels: those of its activities (already distinct per activity)
video_labels AS (
    SELECT al.video_id, array_agg(DISTINCT label ORDER BY label) AS labels
    FROM activity_labels al
    CROSS JOIN LATERAL unnest(al.labels) AS label
    GROUP BY al.video_id
),
-- The next submission of the same collector for the same collection (rate limit). Only paid
-- videos are rate limited, and only by paid videos: a practice or self-serve video (also one
-- collected before its collection was promoted to a paid campaign) never counts (FAQ 4).
next_submission AS (
    SELECT w.video_id,
           lead(w.collected_at) OVER (PARTITION BY w.collector_id, w.collection_id, wv.kind = 'paid'
                                      ORDER BY w.collected_at, w.video_id) AS next_at
    FROM videos w
    JOIN collection_versions wv
      ON wv.collection_id = w.collection_id AND wv.version = w.collection_version
    WHERE (w.collector_id, w.collection_id) IN (SELECT collector_id, collection_id FROM target)
),
activity_level AS (
    SELECT a.video_id, a.activity_index, a.shortname,
           round(avg(rs.score), 6) AS score,
           count(rs.reviewer_email)::integer AS reviewers,
           count(rs.reviewer_email) = 0 OR coalesce(bool_or(rs.pending), false) AS pending,
           count(rs.reviewer_email) = 0 AS unrated,
           coalesce(bool_or(rs.blocks), false) AS blocks,
           coalesce(bool_or(rs.holds), false) AS holds,
           coalesce(min(al.labels), '{}') AS labels
    FROM activities a
    JOIN target t USING (video_id)
    LEFT JOIN reviewer_scores rs USING (video_id, activity_index)
    LEFT JOIN activity_labels al USING (video_id, activity_index)
    GROUP BY a.video_id, a.activity_index, a.shortname
),
video_level AS (
    SELECT t.video_id,
           count(al.activity_index)::integer AS activity_count,
           count(DISTINCT al.shortname) FILTER (WHERE al.shortname = ANY(t.activity_shortnames))::integer AS pressed,
           round(avg(al.score), 6) AS score,
           coalesce(bool_or(al.pending), false) AS pending,
           coalesce(bool_or(al.unrated), false) AS unrated,
           coalesce(bool_or(al.holds), false) AS holds,
           coalesce(min(vls.labels), '{}') AS labels
    FROM target t
    LEFT JOIN activity_level al USING (video_id)
    LEFT JOIN video_labels vls USING (video_id)
    GROUP BY t.video_id, t.activity_shortnames
),
checks AS MATERIALIZED (  -- evaluated once per video, not once per reference
    SELECT t.*, vl.activity_count, vl.pressed, vl.score, vl.pending, vl.unrated,
           'under_review' = ANY(vl.labels) AS under_review, vl.holds,
           'unusable_video' = ANY(vl.labels) AS unusable,
           'consented_subject_not_in_video' = ANY(vl.labels) AS not_consented,
           'perfect' = ANY(vl.labels) AS perfect, vl.labels,
           (vl.activity_count < t.required_activity_count
            OR vl.pressed < cardinality(t.activity_shortnames)) AS bad_count,
           t.duration_s < t.min_duration_s AS too_short,
           -- no version at all is outdated; one that cannot be read is reported, not
           -- outdated (docs/scoring.md)
           (t.min_app_version IS NOT NULL
            AND (t.app_version IS NULL OR coalesce(ak.key < mk.key, false))) AS outdated,
           (t.min_app_version IS NOT NULL AND t.app_version IS NOT NULL AND ak.key IS NULL)
               AS app_unreadable,
           coalesce(t.gps_accuracy_m > (SELECT gps_accuracy_max_m FROM rules), false) AS low_accuracy,
           (t.geofence_lat IS NOT NULL
            AND (t.latitude IS NULL
                 OR great_circle_m(t.latitude, t.longitude, t.geofence_lat, t.geofence_lon)
                    > t.geofence_radius_m)) AS outside_fence,
           (t.latitude IS NOT NULL AND EXISTS (
                SELECT 1 FROM videos w, rules
                WHERE w.collector_id = t.collector_id AND w.collection_id = t.collection_id
                  AND w.latitude IS NOT NULL
                  AND w.latitude BETWEEN t.latitude - rules.repeated_location_m / 111000.0
                                     AND t.latitude + rules.repeated_location_m / 111000.0
                  AND (w.collected_at, w.video_id) < (t.collected_at, t.video_id)
                  AND great_circle_m(t.latitude, t.longitude, w.latitude, w.longitude)
                      <= rules.repeated_location_m
                  -- paid videos are judged against paid ones only, the others among themselves
                  AND (NOT t.mixed_kinds
                       OR t.paid = (SELECT wv.kind = 'paid' FROM collection_versions wv
                                    WHERE wv.collection_id = w.collection_id
                                      AND wv.version = w.collection_version)))) AS repeated_location,
           t.paid AND coalesce(
               ns.next_at < t.collected_at + make_interval(secs => t.rate_limit_hours * 3600),
               false) AS superseded,
           (SELECT consent_required FROM rules)
               AND (cardinality(t.subject_ids) = 0 OR cg.missing IS NOT NULL) AS consent_missing,
           coalesce(cg.missing, '{}') AS consent_missing_subjects
    FROM target t
    JOIN video_level vl USING (video_id)
    JOIN next_submission ns USING (video_id)
    LEFT JOIN consent_gaps cg USING (video_id)
    LEFT JOIN version_keys ak ON ak.version = t.app_version
    LEFT JOIN version_keys mk ON mk.version = t.min_app_version
),
flagged AS (
    SELECT c.*,
           array_remove(ARRAY[
               CASE WHEN c.bad_count THEN 'incorrect_activity_count' END,
               CASE WHEN c.too_short THEN 'video_too_short' END,
               CASE WHEN c.outdated THEN 'outdated_app' END,
               CASE WHEN c.low_accuracy THEN 'gps_accuracy_too_low' END,
               CASE WHEN c.outside_fence THEN 'incorrect_gps_location' END,
               CASE WHEN c.repeated_location THEN 'repeated_gps_location' END,
               CASE WHEN c.unusable THEN 'unusable_video' END,
               CASE WHEN c.not_consented THEN 'consented_subject_not_in_video' END], NULL) AS blocking,
           array_remove(ARRAY[
               CASE WHEN c.consent_missing THEN 'consent_missing' END,
               CASE WHEN c.unrated THEN 'unrated' END,
               CASE WHEN c.under_review THEN 'under_review' END,
               CASE WHEN c.holds THEN 'needs_improvement' END], NULL) AS pending_flags,
           -- reported with the score, neither blocking nor holding it
           array_remove(ARRAY[
               CASE WHEN c.app_unreadable THEN 'app_version_unreadable' END], NULL) AS notes
    FROM checks c
),
decided AS (
    SELECT f.*,
           CASE WHEN cardinality(f.blocking) > 0 THEN 'blocked'
                WHEN f.superseded THEN 'superseded'
                WHEN f.pending OR f.holds OR f.consent_missing OR f.score IS NULL THEN 'pending'
                WHEN f.score >= f.score_threshold THEN 'accepted'
                ELSE 'rejected' END AS status
    FROM flagged f
),
all_flags AS (
    SELECT d.*,
           d.blocking || CASE WHEN d.superseded THEN ARRAY['rate_limit_exceeded'] ELSE '{}' END
               || d.pending_flags || d.notes AS flags
    FROM decided d
),
-- Reasons in the FAQ's words, set-based: flags first (in order), then the score, then the
-- reviewers' defect and warning labels.
flag_reasons AS (
    SELECT a.video_id,
           array_agg(CASE WHEN f.code = 'incorrect_activity_count' THEN
                          format('Incorrect activity count (%%s<%%s)',
                                 CASE WHEN a.activity_count < a.required_activity_count
                                      THEN a.activity_count ELSE a.pressed END,
                                 CASE WHEN a.activity_count < a.required_activity_count
                                      THEN a.required_activity_count
                                      ELSE cardinality(a.activity_shortnames) END)
                          WHEN f.code = 'app_version_unreadable' THEN
                          format('%%s (%%s)', v.faq_name, left(a.app_version, 40))
                          WHEN f.code = 'consent_missing' THEN
                          format('%%s (%%s)', v.faq_name,
                                 coalesce(nullif(array_to_string(a.consent_missing_subjects, ', '), ''),
                                          'no subject named'))
                          ELSE v.faq_name END ORDER BY f.n) AS reasons
    FROM all_flags a
    CROSS JOIN LATERAL unnest(a.flags) WITH ORDINALITY AS f(code, n)
    JOIN rating_vocabulary v ON v.code = f.code
    GROUP BY a.video_id
),
label_reasons AS (
    SELECT a.video_id, array_agg(v.faq_name ORDER BY v.faq_name) AS reasons
    FROM all_flags a
    CROSS JOIN LATERAL unnest(a.labels) AS l(code)
    JOIN label_rules lr ON lr.label = l.code AND lr.effect IN ('factor', 'warning')
    JOIN rating_vocabulary v ON v.code = l.code
    GROUP BY a.video_id
),
described AS (
    SELECT a.*,
           coalesce(fr.reasons, '{}')
           || CASE WHEN a.status = 'rejected' THEN ARRAY[
                  format('Score %%s is below the threshold %%s', trim_scale(a.score),
                         trim_scale(a.score_threshold))]
              ELSE '{}' END
           || coalesce(lr.reasons, '{}') AS reasons
    FROM all_flags a
    LEFT JOIN flag_reasons fr USING (video_id)
    LEFT JOIN label_reasons lr USING (video_id)
),
activity_upsert AS (
    INSERT INTO activity_scores (video_id, activity_index, score, reviewers, pending, labels)
    SELECT al.video_id, al.activity_index, al.score, al.reviewers, al.pending, al.labels
    FROM activity_level al
    LEFT JOIN activity_scores s USING (video_id, activity_index)
    WHERE (s.score, s.reviewers, s.pending, s.labels)
          IS DISTINCT FROM (al.score, al.reviewers, al.pending, al.labels)
    ON CONFLICT (video_id, activity_index) DO UPDATE SET
        score = EXCLUDED.score, reviewers = EXCLUDED.reviewers, pending = EXCLUDED.pending,
        labels = EXCLUDED.labels
    WHERE (activity_scores.score, activity_scores.reviewers, activity_scores.pending, activity_scores.labels)
          IS DISTINCT FROM (EXCLUDED.score, EXCLUDED.reviewers, EXCLUDED.pending, EXCLUDED.labels)
    RETURNING 1
),
history AS (
    INSERT INTO video_score_changes (video_id, rules_version, old_status, new_status, old_score,
                                     new_score, old_accepted, new_accepted)
    SELECT d.video_id, %(rules_version)s, s.status, d.status, s.score, d.score, s.accepted,
           d.status = 'accepted'
    FROM described d JOIN video_scores s USING (video_id)
    WHERE (s.status, s.score) IS DISTINCT FROM (d.status, d.score)
    RETURNING 1
),
video_upsert AS (
    INSERT INTO video_scores (video_id, collector_id, collection_id, collection_version,
                              rules_version, score, threshold, status, accepted, flags, reasons,
                              perfect, scored_at)
    SELECT d.video_id, d.collector_id, d.collection_id, d.collection_version, %(rules_version)s,
           d.score, d.score_threshold, d.status, d.status = 'accepted', d.flags, d.reasons,
           d.perfect, now()
    FROM described d
    LEFT JOIN video_scores s USING (video_id)
    WHERE (s.collector_id, s.collection_id, s.collection_version, s.rules_version, s.score,
           s.threshold, s.status, s.flags, s.reasons, s.perfect)
          IS DISTINCT FROM
          (d.collector_id, d.collection_id, d.collection_version, %(rules_version)s, d.score,
           d.score_threshold, d.status, d.flags, d.reasons, d.perfect)
    ON CONFLICT (video_id) DO UPDATE SET
        collector_id = EXCLUDED.collector_id, collection_id = EXCLUDED.collection_id,
        collection_version = EXCLUDED.collection_version, rules_version = EXCLUDED.rules_version,
        score = EXCLUDED.score, threshold = EXCLUDED.threshold, status = EXCLUDED.status,
        accepted = EXCLUDED.accepted, flags = EXCLUDED.flags, reasons = EXCLUDED.reasons,
        perfect = EXCLUDED.perfect, scored_at = EXCLUDED.scored_at
    WHERE (video_scores.collector_id, video_scores.collection_id, video_scores.collection_version,
           video_scores.rules_version, video_scores.score, video_scores.threshold,
           video_scores.status, video_scores.flags, video_scores.reasons, video_scores.perfect)
          IS DISTINCT FROM
          (EXCLUDED.collector_id, EXCLUDED.collection_id, EXCLUDED.collection_version,
           EXCLUDED.rules_version, EXCLUDED.score, EXCLUDED.threshold, EXCLUDED.status,
           EXCLUDED.flags, EXCLUDED.reasons, EXCLUDED.perfect)
    RETURNING 1
)
SELECT (SELECT count(*) FROM described) AS videos_scored,
       (SELECT count(*) FROM video_upsert) AS videos_written,
       (SELECT count(*) FROM history) AS scores_changed,
       (SELECT count(*) FROM activity_upsert) AS activities_written
