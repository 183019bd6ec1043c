-- Values phones write (issue 19, cases 4 and 5; docs/app-json.md, docs/scoring.md).

-- App versions as app stores and build systems write them, read by their numeric release part
-- (major, minor, patch; missing parts 0): "2.1.0 (57)", "2.1.0+57", "2.1.0.57", "v2.1.0",
-- "2.1.0-beta.1" are all {2,1,0}. NULL when the text cannot be read. Each number has at most
-- 9 digits, so the cast never overflows. The same grammar as collector.core.versions (a test
-- keeps them equal).
CREATE OR REPLACE FUNCTION semver_key(version text) RETURNS integer[] LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN m IS NOT NULL
                THEN ARRAY[m[1]::integer, coalesce(m[2], '0')::integer, coalesce(m[3], '0')::integer]
           END
    FROM regexp_match(version,
        '^[ \t]*[vV]?'
        '([0-9]{1,9})(?:\.([0-9]{1,9}))?(?:\.([0-9]{1,9}))?(?:\.[0-9]{1,9})*'
        '(?:-[0-9A-Za-z._-]+|[~_ ]?[A-Za-z][0-9A-Za-z._-]*)?'
        '(?:\+[0-9A-Za-z._-]+|[ \t]*\([ \t]*[0-9A-Za-z._ -]+\))?'
        '[ \t]*$') AS m
$$;

-- An app version that cannot be read is reported with the score, not treated as outdated.
INSERT INTO rating_vocabulary (code, faq_name, kind)
    VALUES ('app_version_unreadable', 'App version not readable', 'automated');

-- Videos whose app version the old semver_key could not read now read differently (a version
-- or a report): their inputs changed, so the next hourly scoring run re-scores them.
UPDATE videos SET updated_at = now()
 WHERE app_version IS NOT NULL AND app_version !~ '^\d+(\.\d+){0,2}$';

-- GPS "no fix" values phones write (Android 0,0; accuracy 0 or negative; a coordinate without
-- its pair) mean "no position", as if the fields were absent. Older ingests stored them as
-- positions (two 0,0 videos were a "Repeated GPS location"): clear them, and mark the videos
-- changed so the next hourly run re-scores them with their collector's other videos. The
-- app's file itself stays in annotation_versions as it came.
UPDATE videos SET latitude = NULL, longitude = NULL, gps_accuracy_m = NULL, updated_at = now()
 WHERE (latitude IS NULL) <> (longitude IS NULL)
    OR (latitude = 0 AND longitude = 0)
    OR (latitude = -180 AND longitude = -180)
    OR 'NaN' IN (latitude, longitude)
    OR gps_accuracy_m < 0
    OR (latitude IS NULL AND gps_accuracy_m IS NOT NULL);
-- Android's accuracy 0 (hasAccuracy() false): the accuracy is unknown, the position stands.
UPDATE videos SET gps_accuracy_m = NULL, updated_at = now()
 WHERE gps_accuracy_m = 0 OR gps_accuracy_m = 'NaN';

-- From now on the warehouse holds a position or none: both coordinates or neither, in range,
-- never Android's 0,0; an accuracy only with a position, finite and above 0.
ALTER TABLE videos ADD CONSTRAINT videos_gps_fix_or_none CHECK (
    (latitude IS NULL) = (longitude IS NULL)
    AND (latitude IS NULL
         OR (latitude BETWEEN -90 AND 90 AND longitude BETWEEN -180 AND 180
             AND NOT (latitude = 0 AND longitude = 0)))
    AND (gps_accuracy_m IS NULL
         OR (latitude IS NOT NULL AND gps_accuracy_m > 0 AND gps_accuracy_m < 'Infinity')));

-- Uploads quarantined only for their GPS values (iOS's invalid coordinate -180,-180, NaN,
-- ...) are tried again by the next ingest run: the parser now reads those values as "no
-- position". Their quarantine record stays open until the retry ingests them (as after
-- release_quarantined, and a retry that fails again keeps it). A file with any other problem
-- stays quarantined.
DELETE FROM ingested_files f USING ingest_quarantine q
 WHERE f.status = 'quarantined' AND q.file_name = f.file_name AND q.sha256 = f.sha256
   AND q.resolved_at IS NULL
   AND NOT EXISTS (
       SELECT 1 FROM jsonb_array_elements(q.problems) AS p
       WHERE p->>'json_path' NOT IN ('$.metadata.latitude', '$.metadata.longitude',
                                     '$.metadata.gps_accuracy_m'));
