-- Master-sheet fields of a collection version (FAQ 9, design.md §5), the collections' live
-- status, spreadsheets the pipelines own, and the review queue with reviewers' ratings.

ALTER TABLE collection_versions
    ADD COLUMN location_notes        text NOT NULL DEFAULT '',
    ADD COLUMN viewpoint_notes       text NOT NULL DEFAULT '',
    ADD COLUMN pose_notes            text NOT NULL DEFAULT '',
    ADD COLUMN geofence_lat          numeric,
    ADD COLUMN geofence_lon          numeric,
    ADD COLUMN geofence_radius_m     numeric,
    ADD COLUMN start_date            date,
    ADD COLUMN end_date              date,
    ADD COLUMN target_accepted_count integer CHECK (target_accepted_count >= 0),
    ADD CONSTRAINT geofence_all_or_none CHECK (
        (geofence_lat IS NULL) = (geofence_lon IS NULL)
        AND (geofence_lat IS NULL) = (geofence_radius_m IS NULL)),
    ADD CONSTRAINT window_in_order CHECK (end_date IS NULL OR start_date IS NULL OR end_date >= start_date);

-- Whether the app offers a collection today, and why not (date window, target reached, ...).
CREATE TABLE collection_status (
    collection_id text PRIMARY KEY REFERENCES collections,
    enabled       boolean NOT NULL,
    reason        text NOT NULL,
    changed_at    timestamptz NOT NULL DEFAULT now(),
    checked_at    timestamptz NOT NULL DEFAULT now()
);

-- Accepted videos per collection. Scoring (a later migration) replaces this view with the real
-- count; until then no video is accepted.
CREATE VIEW collection_accepted_counts AS
    SELECT collection_id, 0::bigint AS accepted FROM collections;

-- Spreadsheets created and owned by the pipelines (the review queue, dashboards, ...).
CREATE TABLE managed_spreadsheets (
    purpose        text PRIMARY KEY,
    spreadsheet_id text NOT NULL UNIQUE,
    title          text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE reviewers (
    email      text PRIMARY KEY CHECK (email = lower(btrim(email))),
    name       text NOT NULL DEFAULT '',
    active     boolean NOT NULL DEFAULT true,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Activities put in the review queue sheet, by their row id there.
CREATE TABLE review_queue_rows (
    queue_id       text PRIMARY KEY,
    video_id       text NOT NULL,
    activity_index integer NOT NULL,
    appended_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (video_id, activity_index)
);

-- One reviewer's verdict on one activity: one or more rating codes (FAQ 10).
CREATE TABLE activity_ratings (
    video_id       text NOT NULL,
    activity_index integer NOT NULL,
    reviewer_email text NOT NULL REFERENCES reviewers,
    labels         text[] NOT NULL CHECK (cardinality(labels) >= 1),
    comment        text NOT NULL DEFAULT '',
    queue_id       text NOT NULL REFERENCES review_queue_rows,
    sheet_row      integer NOT NULL,
    first_rated_at timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (video_id, activity_index, reviewer_email)
);
CREATE INDEX activity_ratings_updated_at_idx ON activity_ratings (updated_at);
