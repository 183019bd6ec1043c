-- Collection kinds (FAQ 3, 4): a paid campaign, a practice collection (open to everyone,
-- reviewed, never paid) or a self-serve collection that belongs to its owner. The kind is part of
-- a version, so a self-serve collection promoted to a paid campaign keeps its owner in the
-- history while videos collected before the promotion stay unpaid.

ALTER TABLE collection_versions
    ADD COLUMN kind        text NOT NULL DEFAULT 'paid'
                           CHECK (kind IN ('paid', 'practice', 'self_serve')),
    -- The owner's normalized email (FAQ 5: trimmed, case-folded), for self-serve versions only.
    ADD COLUMN owner_email text CHECK (owner_email = btrim(owner_email) AND owner_email LIKE '_%@_%'),
    ADD CONSTRAINT owner_iff_self_serve CHECK ((kind = 'self_serve') = (owner_email IS NOT NULL));

CREATE INDEX collection_versions_owner_idx ON collection_versions (owner_email)
    WHERE owner_email IS NOT NULL;
