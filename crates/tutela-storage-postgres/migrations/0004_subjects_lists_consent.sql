-- Subjects as one record per person (attributes and contact points in one
-- JSON document, payment and special-category values sealed), blind indexes,
-- lead lists with provenance, the consent ledger and privacy notices.
-- Append-only: earlier subjects are carried over, then the old tables go.

CREATE TABLE subject_records (
    controller_id UUID   NOT NULL REFERENCES controllers (id),
    id            UUID   NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    -- Key of the subject's audit pseudonym; erasing the subject destroys it.
    audit_secret  BYTEA  NOT NULL,
    record        TEXT   NOT NULL,
    PRIMARY KEY (controller_id, id)
);

INSERT INTO subject_records (controller_id, id, created_at, updated_at, audit_secret, record)
SELECT s.controller_id, s.id, s.created_at, s.created_at, k.secret,
       json_build_object(
           'attributes', COALESCE((SELECT json_agg(json_build_object('name', a.name, 'category', a.category, 'value', a.value) ORDER BY a.name)
                                   FROM subject_attributes a WHERE a.subject_id = s.id), '[]'::json),
           'contacts', '[]'::json)::text
FROM subjects s JOIN audit_subject_keys k ON k.subject_id = s.id;

DROP TABLE audit_subject_keys;
DROP TABLE subject_attributes;
DROP TABLE subjects;

-- Blind indexes: keyed hashes of normalised phone numbers, e-mail addresses
-- and national identifiers. No plaintext index of any of them exists. One
-- subject per identifier and controller: a row with a known number is that
-- person, which is how imports merge instead of duplicating.
CREATE TABLE subject_lookups (
    controller_id UUID  NOT NULL,
    blind         BYTEA NOT NULL,
    subject_id    UUID  NOT NULL,
    PRIMARY KEY (controller_id, blind)
);

CREATE TABLE lead_lists (
    id              UUID   PRIMARY KEY,
    controller_id   UUID   NOT NULL REFERENCES controllers (id),
    name            TEXT   NOT NULL,
    provenance      TEXT   NOT NULL,
    default_region  TEXT,
    expires_at      BIGINT,
    art14_due_at    BIGINT,
    imported_at     BIGINT NOT NULL,
    imported_by     TEXT   NOT NULL,
    accepted_rows   BIGINT NOT NULL,
    rejected_rows   BIGINT NOT NULL,
    content_digest  BYTEA  NOT NULL,
    purged_at       BIGINT,
    UNIQUE (controller_id, content_digest)
);
CREATE INDEX lead_lists_by_controller ON lead_lists (controller_id, id);

-- Written while the import runs, before its list row exists (the list is
-- recorded at commit, in the same transaction): no foreign key to it.
CREATE TABLE list_members (
    list_id          UUID   NOT NULL,
    subject_id       UUID   NOT NULL,
    row_number       BIGINT NOT NULL,
    first_contact_at BIGINT,
    notice_given_at  BIGINT,
    PRIMARY KEY (list_id, subject_id)
);
CREATE INDEX list_members_by_subject ON list_members (subject_id);

CREATE TABLE list_rejections (
    list_id     UUID   NOT NULL,
    row_number  BIGINT NOT NULL,
    column_name TEXT   NOT NULL,
    reason      TEXT   NOT NULL,
    PRIMARY KEY (list_id, row_number, column_name)
);

CREATE FUNCTION refuse_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'append_only: % rows cannot be changed', TG_TABLE_NAME;
END $$;

CREATE TABLE consent_events (
    id              UUID   PRIMARY KEY,
    controller_id   UUID   NOT NULL REFERENCES controllers (id),
    subject_id      UUID   NOT NULL,
    purpose         TEXT   NOT NULL,
    channel         TEXT   NOT NULL,
    action          TEXT   NOT NULL CHECK (action IN ('granted', 'withdrawn', 'objected')),
    at              BIGINT NOT NULL,
    recorded_at     BIGINT NOT NULL,
    evidence        TEXT   NOT NULL,
    notice_version  BIGINT,
    collected_by    TEXT   NOT NULL,
    collected_where TEXT   NOT NULL
);
CREATE INDEX consent_events_by_subject ON consent_events (controller_id, subject_id, purpose, channel, at, id);
CREATE TRIGGER consent_events_no_update BEFORE UPDATE ON consent_events
    FOR EACH ROW EXECUTE FUNCTION refuse_update();

CREATE TABLE registry_registrations (
    controller_id UUID   NOT NULL REFERENCES controllers (id),
    subject_id    UUID   NOT NULL,
    registry      TEXT   NOT NULL,
    at            BIGINT NOT NULL,
    recorded_at   BIGINT NOT NULL,
    PRIMARY KEY (controller_id, subject_id, registry, at)
);
CREATE TRIGGER registry_registrations_no_update BEFORE UPDATE ON registry_registrations
    FOR EACH ROW EXECUTE FUNCTION refuse_update();

CREATE TABLE privacy_notices (
    controller_id UUID   NOT NULL REFERENCES controllers (id),
    language      TEXT   NOT NULL,
    version       BIGINT NOT NULL CHECK (version >= 1),
    content       TEXT   NOT NULL,
    published_at  BIGINT NOT NULL,
    published_by  TEXT   NOT NULL,
    PRIMARY KEY (controller_id, language, version)
);
CREATE TRIGGER privacy_notices_no_update BEFORE UPDATE ON privacy_notices
    FOR EACH ROW EXECUTE FUNCTION refuse_update();
