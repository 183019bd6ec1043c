-- Core warehouse: who collects, what they collect for, and what they uploaded.
-- Timestamps are UTC (timestamptz); money is integer cents.

CREATE TABLE collectors (
    collector_id  text PRIMARY KEY,            -- as the app writes it, trimmed and case-folded
    email         text,                        -- normalized (FAQ 5) when the id is an email
    first_seen_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE collections (
    collection_id text PRIMARY KEY,            -- e.g. P004C009
    project_id    text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);

-- One row per version of a collection's definition; the version in force at a submission's
-- time is the one whose [valid_from, valid_to) contains it.
CREATE TABLE collection_versions (
    collection_id           text NOT NULL REFERENCES collections,
    version                 integer NOT NULL CHECK (version >= 1),
    project_name            text,
    name                    text NOT NULL,
    description             text NOT NULL DEFAULT '',
    activity_shortnames     text[] NOT NULL,
    activity_categories     text[] NOT NULL,
    required_activity_count integer NOT NULL DEFAULT 1 CHECK (required_activity_count >= 0),
    min_duration_s          numeric NOT NULL DEFAULT 0,
    rate_limit_hours        numeric NOT NULL DEFAULT 12,
    score_threshold         numeric NOT NULL DEFAULT 0.75,
    pay_per_video_cents     integer NOT NULL DEFAULT 0 CHECK (pay_per_video_cents >= 0),
    perfect_bonus_cents     integer NOT NULL DEFAULT 0 CHECK (perfect_bonus_cents >= 0),
    min_app_version         text,
    enabled                 boolean NOT NULL DEFAULT true,
    valid_from              timestamptz NOT NULL,
    valid_to                timestamptz,
    PRIMARY KEY (collection_id, version),
    CHECK (cardinality(activity_shortnames) = cardinality(activity_categories)),
    CHECK (valid_to IS NULL OR valid_to > valid_from)
);

CREATE TABLE videos (
    video_id             text PRIMARY KEY,
    collector_id         text NOT NULL REFERENCES collectors,
    collection_id        text NOT NULL REFERENCES collections,
    collection_version   integer NOT NULL,
    subject_ids          text[] NOT NULL DEFAULT '{}',
    collected_at         timestamptz NOT NULL,
    frame_rate           double precision NOT NULL CHECK (frame_rate > 0),
    duration_s           double precision NOT NULL CHECK (duration_s > 0),
    frame_width          integer NOT NULL CHECK (frame_width > 0),
    frame_height         integer NOT NULL CHECK (frame_height > 0),
    orientation          text,
    device_identifier    text,
    app_version          text,
    latitude             double precision,
    longitude            double precision,
    gps_accuracy_m       double precision,
    mp4_uri              text NOT NULL,
    current_annotation   text NOT NULL,         -- annotation_versions.file_name in force
    first_ingested_at    timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (collection_id, collection_version) REFERENCES collection_versions
);
CREATE INDEX videos_collector_collection_idx ON videos (collector_id, collection_id, collected_at);
CREATE INDEX videos_updated_at_idx ON videos (updated_at);

-- Edits history: every annotation ever received for a video, original and edits, kept for audit.
-- The newest stamp wins (the original has no stamp and loses to any edit).
CREATE TABLE annotation_versions (
    video_id      text NOT NULL,
    file_name     text NOT NULL,
    edit_stamp    timestamptz,                  -- NULL for the original upload
    sha256        text NOT NULL,
    payload       jsonb NOT NULL,
    received_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (video_id, file_name)
);

CREATE TABLE activities (
    video_id         text NOT NULL REFERENCES videos ON DELETE CASCADE,
    activity_index   integer NOT NULL,
    shortname        text NOT NULL,
    category         text,
    category_variant text,
    start_frame      integer NOT NULL CHECK (start_frame >= 0),
    end_frame        integer NOT NULL,
    object_indices   integer[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (video_id, activity_index),
    CHECK (end_frame > start_frame)
);

CREATE TABLE object_tracks (
    video_id     text NOT NULL REFERENCES videos ON DELETE CASCADE,
    object_index integer NOT NULL,
    label        text NOT NULL,
    PRIMARY KEY (video_id, object_index)
);

-- Keyframe boxes; between keyframes the box is linearly interpolated.
CREATE TABLE track_boxes (
    video_id     text NOT NULL,
    object_index integer NOT NULL,
    frame_index  integer NOT NULL CHECK (frame_index >= 0),
    x            double precision NOT NULL,
    y            double precision NOT NULL,
    width        double precision NOT NULL CHECK (width > 0),
    height       double precision NOT NULL CHECK (height > 0),
    PRIMARY KEY (video_id, object_index, frame_index),
    FOREIGN KEY (video_id, object_index) REFERENCES object_tracks ON DELETE CASCADE
);

-- Every landing-area file we have looked at, by content, so a rerun skips what it has seen.
CREATE TABLE ingested_files (
    file_name     text NOT NULL,
    sha256        text NOT NULL,
    video_id      text,
    -- mp4_overdue: quarantined because the MP4 never came; retried by itself when it does.
    status        text NOT NULL
                  CHECK (status IN ('ingested', 'quarantined', 'waiting_for_mp4', 'mp4_overdue')),
    first_seen_at timestamptz NOT NULL DEFAULT now(),
    processed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (file_name, sha256)
);

CREATE TABLE ingest_quarantine (
    quarantine_id  bigserial PRIMARY KEY,
    file_name      text NOT NULL,
    sha256         text NOT NULL,
    video_id       text,
    json_path      text NOT NULL,               -- where in the file the first problem is
    reason         text NOT NULL,               -- what was expected, in words a person can act on
    problems       jsonb NOT NULL,              -- every problem found: [{json_path, reason}]
    stored_copy    text,                        -- the quarantined copy of the file
    quarantined_at timestamptz NOT NULL DEFAULT now(),
    resolved_at    timestamptz,
    UNIQUE (file_name, sha256)
);
