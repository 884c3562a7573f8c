-- The tamper-evident audit trail (issue 4). Append-only: triggers refuse
-- UPDATE, DELETE and TRUNCATE on the event and checkpoint tables.

-- Events are stored in segments: runs of consecutive events of one chain,
-- one row each (entries: body, chain hash, seal; see tutela-storage's
-- audit_segment.rs). One row per event with four search indexes capped
-- appends; a segment is one sequential write.
CREATE TABLE audit_segments (
    chain       UUID   NOT NULL,  -- controller id, or the nil UUID for the platform
    first_seq   BIGINT NOT NULL,
    count       BIGINT NOT NULL,
    min_instant BIGINT NOT NULL,
    max_instant BIGINT NOT NULL,
    records     BYTEA  NOT NULL,  -- canonical event bytes: what is hashed and signed
    PRIMARY KEY (chain, first_seq)
);
CREATE INDEX audit_segments_by_end ON audit_segments (chain, max_instant, first_seq);
CREATE INDEX audit_segments_by_start ON audit_segments (chain, min_instant, first_seq);

-- What events can be found by (actor, object, subject pseudonym): one row
-- per distinct term per segment, filed under the segment's epoch (its first
-- position / 1024) so one commit's terms land in adjacent index pages.
CREATE TABLE audit_terms (
    chain     UUID   NOT NULL,
    epoch     BIGINT NOT NULL,
    term      BYTEA  NOT NULL,  -- tag byte + actor, object, or pseudonym; never the subject id
    first_seq BIGINT NOT NULL,
    PRIMARY KEY (chain, epoch, term, first_seq)
);

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
CREATE TRIGGER audit_segments_append_only BEFORE UPDATE OR DELETE ON audit_segments
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_segments_no_truncate BEFORE TRUNCATE ON audit_segments
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_terms_append_only BEFORE UPDATE OR DELETE ON audit_terms
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_terms_no_truncate BEFORE TRUNCATE ON audit_terms
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
