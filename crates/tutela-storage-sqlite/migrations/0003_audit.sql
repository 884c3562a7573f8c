-- The tamper-evident audit trail (issue 4). Append-only: triggers refuse
-- UPDATE and DELETE on the event and checkpoint tables.

-- Events are stored in segments: runs of consecutive events of one chain,
-- one row each (entries: body, chain hash, seal; see tutela-storage's
-- audit_segment.rs). One row per event with four search indexes capped
-- appends near 34,000 events/s; a segment is one sequential write.
CREATE TABLE audit_segments (
    chain       BLOB    NOT NULL,  -- controller id, or the nil UUID for the platform
    first_seq   INTEGER NOT NULL,
    count       INTEGER NOT NULL,
    min_instant INTEGER NOT NULL,
    max_instant INTEGER NOT NULL,
    records     BLOB    NOT NULL,  -- canonical event bytes: what is hashed and signed
    PRIMARY KEY (chain, first_seq)
) STRICT;
CREATE INDEX audit_segments_by_end ON audit_segments (chain, max_instant, first_seq);
CREATE INDEX audit_segments_by_start ON audit_segments (chain, min_instant, first_seq);

-- What events can be found by (actor, object, subject pseudonym): one row
-- per distinct term per segment, filed under the segment's epoch (its first
-- position / 1024) so one commit's terms land in adjacent index pages.
CREATE TABLE audit_terms (
    chain     BLOB    NOT NULL,
    epoch     INTEGER NOT NULL,
    term      BLOB    NOT NULL,  -- tag byte + actor, object, or pseudonym; never the subject id
    first_seq INTEGER NOT NULL,
    PRIMARY KEY (chain, epoch, term, first_seq)
) STRICT, WITHOUT ROWID;

CREATE TABLE audit_checkpoints (
    chain      BLOB    NOT NULL,
    tree_size  INTEGER NOT NULL,
    root       BLOB    NOT NULL,
    chain_hash BLOB    NOT NULL,
    instant    INTEGER NOT NULL,
    key_id     BLOB    NOT NULL,
    signature  BLOB    NOT NULL,
    PRIMARY KEY (chain, tree_size)
) STRICT;

CREATE TRIGGER audit_segments_no_update BEFORE UPDATE ON audit_segments
BEGIN SELECT RAISE(ABORT, 'audit_append_only: audit events cannot be changed'); END;
CREATE TRIGGER audit_segments_no_delete BEFORE DELETE ON audit_segments
BEGIN SELECT RAISE(ABORT, 'audit_append_only: audit events cannot be deleted'); END;
CREATE TRIGGER audit_terms_no_update BEFORE UPDATE ON audit_terms
BEGIN SELECT RAISE(ABORT, 'audit_append_only: search terms cannot be changed'); END;
CREATE TRIGGER audit_terms_no_delete BEFORE DELETE ON audit_terms
BEGIN SELECT RAISE(ABORT, 'audit_append_only: search terms cannot be deleted'); END;
CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit_append_only: checkpoints cannot be changed'); END;
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit_append_only: checkpoints cannot be deleted'); END;

-- One secret per data subject: the key of their audit pseudonym. Erasing the
-- subject deletes it (cascade), which makes their events unlinkable.
CREATE TABLE audit_subject_keys (
    subject_id BLOB NOT NULL PRIMARY KEY REFERENCES subjects (id) ON DELETE CASCADE,
    secret     BLOB NOT NULL
) STRICT;
