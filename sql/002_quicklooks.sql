-- One quicklook per activity: the montage reviewers judge (FAQ 10), or why there is none.
-- Activities are replaced wholesale when an edit arrives, so the cascade removes quicklooks of
-- the old annotation; annotation_sha256 also marks a quicklook stale if the file was corrected.
CREATE TABLE quicklooks (
    video_id          text NOT NULL,
    activity_index    integer NOT NULL,
    annotation_sha256 text NOT NULL,
    status            text NOT NULL CHECK (status IN ('ok', 'failed')),
    reason            text,                       -- failed: why, shown to reviewers as a flag
    image_uri         text,
    image_bytes       integer,
    frame_indices     integer[],
    render_ms         integer,
    peak_rss_bytes    bigint,
    rendered_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (video_id, activity_index),
    FOREIGN KEY (video_id, activity_index) REFERENCES activities ON DELETE CASCADE,
    CHECK ((status = 'ok') = (image_uri IS NOT NULL)),
    CHECK (status = 'ok' OR reason IS NOT NULL)
);
CREATE INDEX quicklooks_rendered_at_idx ON quicklooks (rendered_at);
