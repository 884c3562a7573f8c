-- The tamper-evident audit trail (issue 4). Append-only: triggers refuse
-- UPDATE and DELETE on the event and checkpoint tables.

CREATE TABLE audit_events (
    chain      BLOB    NOT NULL,  -- controller id, or the nil UUID for the platform
    seq        INTEGER NOT NULL,
    instant    INTEGER NOT NULL,
    actor      TEXT    NOT NULL,
    action     TEXT    NOT NULL,
    object     TEXT,
    subject    BLOB,              -- keyed pseudonym, never the subject id
    body       BLOB    NOT NULL,  -- canonical bytes: what is hashed and signed
    chain_hash BLOB    NOT NULL,
    seal       BLOB,              -- signed tree head + frontier, last event of a batch
    PRIMARY KEY (chain, seq)
) STRICT, WITHOUT ROWID;
CREATE INDEX audit_events_by_subject ON audit_events (chain, subject, seq) WHERE subject IS NOT NULL;
CREATE INDEX audit_events_by_actor ON audit_events (chain, actor, seq);
CREATE INDEX audit_events_by_object ON audit_events (chain, object, seq) WHERE object IS NOT NULL;
CREATE INDEX audit_events_by_instant ON audit_events (chain, instant);

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

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_append_only: audit events cannot be changed'); END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_append_only: audit events cannot be deleted'); END;
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
