-- The tamper-evident audit trail (issue 4). Append-only: triggers refuse
-- UPDATE, DELETE and TRUNCATE on the event and checkpoint tables.

CREATE TABLE audit_events (
    chain      UUID   NOT NULL,  -- controller id, or the nil UUID for the platform
    seq        BIGINT NOT NULL,
    instant    BIGINT NOT NULL,
    actor      TEXT   NOT NULL,
    action     TEXT   NOT NULL,
    object     TEXT,
    subject    BYTEA,            -- keyed pseudonym, never the subject id
    body       BYTEA  NOT NULL,  -- canonical bytes: what is hashed and signed
    chain_hash BYTEA  NOT NULL,
    seal       BYTEA,            -- signed tree head + frontier, last event of a batch
    PRIMARY KEY (chain, seq)
);
CREATE INDEX audit_events_by_subject ON audit_events (chain, subject, seq) WHERE subject IS NOT NULL;
CREATE INDEX audit_events_by_actor ON audit_events (chain, actor, seq);
CREATE INDEX audit_events_by_object ON audit_events (chain, object, seq) WHERE object IS NOT NULL;
CREATE INDEX audit_events_by_instant ON audit_events (chain, instant);

CREATE TABLE audit_checkpoints (
    chain      UUID   NOT NULL,
    tree_size  BIGINT NOT NULL,
    root       BYTEA  NOT NULL,
    chain_hash BYTEA  NOT NULL,
    instant    BIGINT NOT NULL,
    key_id     BYTEA  NOT NULL,
    signature  BYTEA  NOT NULL,
    PRIMARY KEY (chain, tree_size)
);

CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_append_only: % on % is refused', TG_OP, TG_TABLE_NAME;
END
$$;
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();

-- One secret per data subject: the key of their audit pseudonym. Erasing the
-- subject deletes it (cascade), which makes their events unlinkable.
CREATE TABLE audit_subject_keys (
    subject_id UUID  NOT NULL PRIMARY KEY REFERENCES subjects (id) ON DELETE CASCADE,
    secret     BYTEA NOT NULL
);
