-- Consent registry (FAQ 10: every person recorded consented and is 18 or older) and public
-- dataset releases (FAQ 7). docs/consent-and-releases.md describes both.

-- One row per consent record the app uploaded (consent_<consent_id>.json + .mp4).
CREATE TABLE consent_records (
    consent_id            text PRIMARY KEY,
    subject_email         text NOT NULL,            -- normalized (FAQ 5): trimmed, case-folded
    collector_id          text NOT NULL,
    consented_at          timestamptz NOT NULL,
    app_version           text,
    device_identifier     text,
    subject_confirmed_18_or_older boolean NOT NULL CHECK (subject_confirmed_18_or_older),
    video_uri             text NOT NULL,            -- the consent video, in the landing area
    file_name             text NOT NULL,
    sha256                text NOT NULL,
    ingested_at           timestamptz NOT NULL DEFAULT now(),
    -- The consent video's quicklook, which reviewers compare with the activity's (FAQ 10).
    quicklook_status      text CHECK (quicklook_status IN ('ok', 'failed')),
    quicklook_uri         text,
    quicklook_reason      text,
    quicklook_rendered_at timestamptz,
    CHECK (quicklook_status IS DISTINCT FROM 'ok' OR quicklook_uri IS NOT NULL)
);
CREATE INDEX consent_records_subject_idx ON consent_records (subject_email, consented_at);

-- A withdrawal covers every consent of the subject. Rows are never changed or deleted: a
-- re-ingested consent record cannot undo one, and neither can an UPDATE by hand.
CREATE TABLE consent_withdrawals (
    subject_email text PRIMARY KEY,
    reason        text NOT NULL CHECK (btrim(reason) <> ''),
    withdrawn_by  text NOT NULL CHECK (btrim(withdrawn_by) <> ''),
    withdrawn_at  timestamptz NOT NULL DEFAULT now()
);
CREATE FUNCTION consent_withdrawals_are_final() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'consent withdrawals are final: % of % cannot be changed', TG_OP, OLD.subject_email;
END $$;
CREATE TRIGGER consent_withdrawals_final BEFORE UPDATE OR DELETE ON consent_withdrawals
    FOR EACH ROW EXECUTE FUNCTION consent_withdrawals_are_final();

-- A video is held (pending, not paid) while a subject it names has no consent on file.
ALTER TABLE scoring_rule_sets ADD COLUMN consent_required boolean NOT NULL DEFAULT true;
INSERT INTO rating_vocabulary (code, faq_name, kind)
    VALUES ('consent_missing', 'Consent not on file', 'automated');

-- Temporal padding of release clips, per activity category ('*': every other category).
-- pad_before_s / pad_after_s are added around the activity; min_length_s pads both sides
-- equally until the clip lasts that long. Clips are clamped to the source video.
CREATE TABLE release_padding_rules (
    category     text PRIMARY KEY,
    pad_before_s numeric NOT NULL DEFAULT 0 CHECK (pad_before_s >= 0),
    pad_after_s  numeric NOT NULL DEFAULT 0 CHECK (pad_after_s >= 0),
    min_length_s numeric NOT NULL DEFAULT 0 CHECK (min_length_s >= 0),
    why          text NOT NULL
);
INSERT INTO release_padding_rules (category, pad_before_s, pad_after_s, min_length_s, why) VALUES
    ('*', 0, 0, 0, 'the labelled activity as it is'),
    ('person_opens_door', 1, 0, 0, 'one second before, so the closed door is seen'),
    ('person_closes_door', 1, 0, 0, 'one second before, so the open door is seen'),
    ('person_talks_to_person', 0, 0, 5, 'equal padding on both sides up to five seconds');

CREATE TABLE dataset_releases (
    name            text NOT NULL,
    version         text NOT NULL,
    status          text NOT NULL CHECK (status IN ('building', 'published')),
    params          jsonb NOT NULL,
    output_uri      text NOT NULL,
    clip_count      integer,
    manifest_sha256 text,
    ffmpeg_version  text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    published_at    timestamptz,
    PRIMARY KEY (name, version),
    CHECK ((status = 'published') = (published_at IS NOT NULL))
);

-- What a release holds, clip by clip: the plan while building, the record once published
-- (takedown.csv of later releases reads it).
CREATE TABLE release_items (
    name           text NOT NULL,
    version        text NOT NULL,
    clip_id        text NOT NULL,
    video_id       text NOT NULL,
    activity_index integer NOT NULL,
    collector_id   text NOT NULL,
    collection_id  text NOT NULL,
    category       text NOT NULL,
    subject_emails text[] NOT NULL,
    split          text NOT NULL CHECK (split IN ('train', 'val', 'test')),
    PRIMARY KEY (name, version, clip_id),
    FOREIGN KEY (name, version) REFERENCES dataset_releases ON DELETE CASCADE
);
CREATE INDEX release_items_subjects_idx ON release_items USING gin (subject_emails);

CREATE FUNCTION published_releases_are_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status = 'published' THEN
        RAISE EXCEPTION 'release % % is published and immutable', OLD.name, OLD.version;
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END $$;
CREATE TRIGGER dataset_releases_immutable BEFORE UPDATE OR DELETE ON dataset_releases
    FOR EACH ROW EXECUTE FUNCTION published_releases_are_immutable();
