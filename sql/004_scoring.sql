-- Scoring (design.md §5): rules as data, per-activity and per-video scores, and their history.

-- The FAQ's words for every rating and check (collector/ratings.py is the same list; a test
-- keeps them equal).
CREATE TABLE rating_vocabulary (
    code     text PRIMARY KEY,
    faq_name text NOT NULL,
    kind     text NOT NULL CHECK (kind IN ('reviewer', 'automated', 'status'))
);
INSERT INTO rating_vocabulary (code, faq_name, kind) VALUES
    ('good', 'Good', 'reviewer'), ('perfect', 'Perfect', 'reviewer'),
    ('repeated_scene', 'Repeated scene', 'reviewer'),
    ('box_not_centered', 'Box not centered', 'reviewer'), ('box_too_big', 'Box too big', 'reviewer'),
    ('box_too_small', 'Box too small', 'reviewer'), ('incorrect_timing', 'Incorrect timing', 'reviewer'),
    ('incorrect_label', 'Incorrect label', 'reviewer'),
    ('not_visible', 'Object/activity not visible', 'reviewer'),
    ('incorrect_viewpoint', 'Incorrect viewpoint', 'reviewer'),
    ('wrong_location', 'Wrong location', 'reviewer'),
    ('invalid_repetition_count', 'Invalid repetition count', 'reviewer'),
    ('incorrect_instances_per_video', 'Incorrect instances per video', 'reviewer'),
    ('wrong_actor_pose', 'Wrong actor pose', 'reviewer'),
    ('incorrect_scene_illumination', 'Incorrect scene illumination', 'reviewer'),
    ('incorrect_style', 'Incorrect style', 'reviewer'), ('incorrect_objects', 'Incorrect objects', 'reviewer'),
    ('no_joint_activity', 'No joint activity', 'reviewer'), ('unusable_video', 'Unusable video', 'reviewer'),
    ('needs_improvement', 'Needs improvement', 'reviewer'),
    ('consented_subject_not_in_video', 'Consented subject not in video', 'reviewer'),
    ('under_review', 'Under review', 'reviewer'),
    ('rate_limit_exceeded', 'Rate limit exceeded', 'automated'),
    ('incorrect_activity_count', 'Incorrect activity count', 'automated'),
    ('incorrect_gps_location', 'Incorrect GPS location', 'automated'),
    ('repeated_gps_location', 'Repeated GPS location', 'automated'),
    ('gps_accuracy_too_low', 'GPS accuracy too low', 'automated'),
    ('video_too_short', 'Video too short', 'automated'),
    ('outdated_app', 'Outdated App', 'automated'),
    ('unrated', 'Unrated', 'status');

-- A rule set: thresholds of the automated checks, and what each label does to a score.
CREATE TABLE scoring_rule_sets (
    rules_version       integer PRIMARY KEY,
    description         text NOT NULL,
    gps_accuracy_max_m  numeric NOT NULL CHECK (gps_accuracy_max_m > 0),
    repeated_location_m numeric NOT NULL CHECK (repeated_location_m > 0),
    created_at          timestamptz NOT NULL DEFAULT now()
);
-- effect: pass / warning (score unchanged), factor (multiply the reviewer's score by factor;
-- 0 for a defect), block (video never accepted), hold (secondary review: pending),
-- pending (no decision yet).
CREATE TABLE scoring_label_rules (
    rules_version integer NOT NULL REFERENCES scoring_rule_sets,
    label         text NOT NULL REFERENCES rating_vocabulary,
    effect        text NOT NULL CHECK (effect IN ('pass', 'warning', 'factor', 'block', 'hold', 'pending')),
    factor        numeric NOT NULL DEFAULT 1 CHECK (factor >= 0 AND factor <= 1),
    PRIMARY KEY (rules_version, label)
);
INSERT INTO scoring_rule_sets VALUES (1, 'design.md §5 defaults', 50, 200, now());
INSERT INTO scoring_label_rules (rules_version, label, effect, factor) VALUES
    (1, 'good', 'pass', 1), (1, 'perfect', 'pass', 1), (1, 'repeated_scene', 'warning', 1),
    (1, 'box_not_centered', 'factor', 0.5), (1, 'box_too_big', 'factor', 0.5),
    (1, 'box_too_small', 'factor', 0.5), (1, 'incorrect_timing', 'factor', 0.5),
    (1, 'incorrect_label', 'factor', 0), (1, 'not_visible', 'factor', 0),
    (1, 'incorrect_viewpoint', 'factor', 0), (1, 'wrong_location', 'factor', 0),
    (1, 'invalid_repetition_count', 'factor', 0), (1, 'incorrect_instances_per_video', 'factor', 0),
    (1, 'wrong_actor_pose', 'factor', 0), (1, 'incorrect_scene_illumination', 'factor', 0),
    (1, 'incorrect_style', 'factor', 0), (1, 'incorrect_objects', 'factor', 0),
    (1, 'no_joint_activity', 'factor', 0),
    (1, 'unusable_video', 'block', 1), (1, 'consented_subject_not_in_video', 'block', 1),
    (1, 'needs_improvement', 'hold', 1), (1, 'under_review', 'pending', 1);

-- "2.10" -> {2,10,0}; NULL when it is not a dotted number.
CREATE FUNCTION semver_key(version text) RETURNS integer[] LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN version ~ '^\d+(\.\d+){0,2}$'
                THEN (string_to_array(version || '.0.0', '.'))[1:3]::integer[] END
$$;

-- Great-circle distance in metres (haversine, mean Earth radius).
CREATE FUNCTION great_circle_m(lat1 double precision, lon1 double precision,
                               lat2 double precision, lon2 double precision)
RETURNS double precision LANGUAGE sql IMMUTABLE AS $$
    SELECT 2 * 6371008.8 * asin(least(1, sqrt(
        sin(radians(lat2 - lat1) / 2) ^ 2
        + cos(radians(lat1)) * cos(radians(lat2)) * sin(radians(lon2 - lon1) / 2) ^ 2)))
$$;

-- Neighbours for the repeated-location check: a latitude band per collector and collection.
CREATE INDEX videos_location_idx ON videos (collector_id, collection_id, latitude)
    WHERE latitude IS NOT NULL;

CREATE TABLE activity_scores (
    video_id       text NOT NULL,
    activity_index integer NOT NULL,
    score          numeric(8, 6),                  -- mean over reviewers; NULL when unrated
    reviewers      integer NOT NULL,
    pending        boolean NOT NULL,
    labels         text[] NOT NULL,
    PRIMARY KEY (video_id, activity_index),
    FOREIGN KEY (video_id, activity_index) REFERENCES activities ON DELETE CASCADE
);

CREATE TABLE video_scores (
    video_id           text PRIMARY KEY REFERENCES videos ON DELETE CASCADE,
    collector_id       text NOT NULL,
    collection_id      text NOT NULL,
    collection_version integer NOT NULL,
    rules_version      integer NOT NULL REFERENCES scoring_rule_sets,
    score              numeric(8, 6),              -- mean over activities; NULL if none scored
    threshold          numeric NOT NULL,
    status             text NOT NULL CHECK (status IN ('accepted', 'rejected', 'pending', 'blocked', 'superseded')),
    accepted           boolean NOT NULL,
    flags              text[] NOT NULL,            -- codes: checks, blocking labels, rate limit, pending
    reasons            text[] NOT NULL,            -- the same in the FAQ's words, for people
    perfect            boolean NOT NULL,           -- some reviewer rated an activity `perfect`
    scored_at          timestamptz NOT NULL DEFAULT now(),
    CHECK (accepted = (status = 'accepted'))
);
CREATE INDEX video_scores_collection_idx ON video_scores (collection_id) WHERE accepted;

-- Every change of an existing score: what finance sees when a paid video's outcome moves.
CREATE TABLE video_score_changes (
    change_id     bigserial PRIMARY KEY,
    video_id      text NOT NULL,
    changed_at    timestamptz NOT NULL DEFAULT now(),
    rules_version integer NOT NULL,
    old_status    text NOT NULL,
    new_status    text NOT NULL,
    old_score     numeric(8, 6),
    new_score     numeric(8, 6),
    old_accepted  boolean NOT NULL,
    new_accepted  boolean NOT NULL
);
CREATE INDEX video_score_changes_video_idx ON video_score_changes (video_id);

CREATE OR REPLACE VIEW collection_accepted_counts AS
    SELECT c.collection_id, count(s.video_id) FILTER (WHERE s.accepted)::bigint AS accepted
    FROM collections c LEFT JOIN video_scores s USING (collection_id)
    GROUP BY c.collection_id;

