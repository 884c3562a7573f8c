-- Subjects as one record per person (attributes and contact points in one
-- JSON document, payment and special-category values sealed), blind indexes,
-- lead lists with provenance, the consent ledger and privacy notices.
-- Append-only: earlier subjects are carried over, then the old tables go.

CREATE TABLE subject_records (
    controller_id BLOB    NOT NULL REFERENCES controllers (id),
    id            BLOB    NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    -- Key of the subject's audit pseudonym; erasing the subject destroys it.
    audit_secret  BLOB    NOT NULL,
    record        TEXT    NOT NULL,
    PRIMARY KEY (controller_id, id)
) STRICT, WITHOUT ROWID;

INSERT INTO subject_records (controller_id, id, created_at, updated_at, audit_secret, record)
SELECT s.controller_id, s.id, s.created_at, s.created_at, k.secret,
       json_object(
           'attributes', (SELECT json_group_array(json_object('name', a.name, 'category', a.category, 'value', a.value))
                          FROM (SELECT * FROM subject_attributes WHERE subject_id = s.id ORDER BY name) a),
           'contacts', json('[]'))
FROM subjects s JOIN audit_subject_keys k ON k.subject_id = s.id;

DROP TABLE audit_subject_keys;
DROP TABLE subject_attributes;
DROP TABLE subjects;

-- Blind indexes: keyed hashes of normalised phone numbers, e-mail addresses
-- and national identifiers. No plaintext index of any of them exists. One
-- subject per identifier and controller: a row with a known number is that
-- person, which is how imports merge instead of duplicating.
CREATE TABLE subject_lookups (
    controller_id BLOB NOT NULL,
    blind         BLOB NOT NULL,
    subject_id    BLOB NOT NULL,
    PRIMARY KEY (controller_id, blind)
) STRICT, WITHOUT ROWID;

CREATE TABLE lead_lists (
    id              BLOB    PRIMARY KEY NOT NULL,
    controller_id   BLOB    NOT NULL REFERENCES controllers (id),
    name            TEXT    NOT NULL,
    provenance      TEXT    NOT NULL,  -- JSON: supplier, owner, acquisition, source, basis, purpose
    default_region  TEXT,
    expires_at      INTEGER,
    art14_due_at    INTEGER,           -- a month after acquisition, when art. 14 applies
    imported_at     INTEGER NOT NULL,
    imported_by     TEXT    NOT NULL,
    accepted_rows   INTEGER NOT NULL,
    rejected_rows   INTEGER NOT NULL,
    content_digest  BLOB    NOT NULL,
    purged_at       INTEGER,
    UNIQUE (controller_id, content_digest)
) STRICT;
CREATE INDEX lead_lists_by_controller ON lead_lists (controller_id, id);

-- Written while the import runs, before its list row exists (the list is
-- recorded at commit, in the same transaction): no foreign key to it.
CREATE TABLE list_members (
    list_id          BLOB    NOT NULL,
    subject_id       BLOB    NOT NULL,
    row_number       INTEGER NOT NULL,
    first_contact_at INTEGER,
    notice_given_at  INTEGER,
    PRIMARY KEY (list_id, subject_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX list_members_by_subject ON list_members (subject_id);

CREATE TABLE list_rejections (
    list_id     BLOB    NOT NULL,
    row_number  INTEGER NOT NULL,
    column_name TEXT    NOT NULL,
    reason      TEXT    NOT NULL,
    PRIMARY KEY (list_id, row_number, column_name)
) STRICT, WITHOUT ROWID;

-- The consent ledger: events are never changed (erasure may delete them).
CREATE TABLE consent_events (
    id              BLOB    PRIMARY KEY NOT NULL,
    controller_id   BLOB    NOT NULL REFERENCES controllers (id),
    subject_id      BLOB    NOT NULL,
    purpose         TEXT    NOT NULL,
    channel         TEXT    NOT NULL,
    action          TEXT    NOT NULL CHECK (action IN ('granted', 'withdrawn', 'objected')),
    at              INTEGER NOT NULL,
    recorded_at     INTEGER NOT NULL,
    evidence        TEXT    NOT NULL,  -- JSON
    notice_version  INTEGER,
    collected_by    TEXT    NOT NULL,
    collected_where TEXT    NOT NULL
) STRICT;
CREATE INDEX consent_events_by_subject ON consent_events (controller_id, subject_id, purpose, channel, at, id);
CREATE TRIGGER consent_events_no_update BEFORE UPDATE ON consent_events
BEGIN SELECT RAISE(ABORT, 'consent_append_only: consent events cannot be changed'); END;

CREATE TABLE registry_registrations (
    controller_id BLOB    NOT NULL REFERENCES controllers (id),
    subject_id    BLOB    NOT NULL,
    registry      TEXT    NOT NULL,
    at            INTEGER NOT NULL,
    recorded_at   INTEGER NOT NULL,
    PRIMARY KEY (controller_id, subject_id, registry, at)
) STRICT, WITHOUT ROWID;
CREATE TRIGGER registry_registrations_no_update BEFORE UPDATE ON registry_registrations
BEGIN SELECT RAISE(ABORT, 'consent_append_only: registrations cannot be changed'); END;

CREATE TABLE privacy_notices (
    controller_id BLOB    NOT NULL REFERENCES controllers (id),
    language      TEXT    NOT NULL,
    version       INTEGER NOT NULL CHECK (version >= 1),
    content       TEXT    NOT NULL,  -- JSON: the full notice and its spoken version
    published_at  INTEGER NOT NULL,
    published_by  TEXT    NOT NULL,
    PRIMARY KEY (controller_id, language, version)
) STRICT;
CREATE TRIGGER privacy_notices_no_update BEFORE UPDATE ON privacy_notices
BEGIN SELECT RAISE(ABORT, 'notices_append_only: a published notice cannot be changed'); END;
