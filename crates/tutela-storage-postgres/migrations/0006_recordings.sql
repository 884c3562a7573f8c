-- Recordings vault: policies per controller and campaign, the calls the
-- quota counts, recordings (metadata only: the audio is an encrypted blob
-- in the object store), their wrapped data keys and the listens counted
-- against the quota. Deleting a key row crypto-shreds its recording.

CREATE TABLE recording_policies (
    controller_id UUID    NOT NULL REFERENCES controllers (id),
    campaign      TEXT    NOT NULL,  -- 'default' is the controller's default
    policy        TEXT    NOT NULL,  -- JSON, as the operator set it
    version       BIGINT NOT NULL,
    set_at        BIGINT NOT NULL,
    PRIMARY KEY (controller_id, campaign)
);

-- Every call a PBX asked about or uploaded for, once: the listening
-- quota is a share of these per campaign and month.
CREATE TABLE recording_calls (
    controller_id UUID    NOT NULL REFERENCES controllers (id),
    call_id       TEXT    NOT NULL,
    campaign      TEXT    NOT NULL,
    first_seen    BIGINT NOT NULL,
    PRIMARY KEY (controller_id, call_id)
);
CREATE INDEX recording_calls_by_campaign ON recording_calls (controller_id, campaign, first_seen);

CREATE TABLE recordings (
    id              UUID    NOT NULL PRIMARY KEY,
    controller_id   UUID    NOT NULL REFERENCES controllers (id),
    campaign        TEXT    NOT NULL,
    call_id         TEXT    NOT NULL,
    subject_id      UUID,             -- NULL when unknown or erased
    recorded_at     BIGINT NOT NULL,
    stored_at       BIGINT NOT NULL,
    meta            TEXT    NOT NULL, -- JSON: purposes, answer, pauses, layout, operator pseudonym
    operator_sealed BYTEA    NOT NULL, -- the operator, sealed: only an administrator resolves it
    blob_key        TEXT    NOT NULL,
    legal_hold      TEXT,             -- the hold's reason while held
    shredded_at     BIGINT,
    shred_reason    TEXT,
    blob_deleted_at BIGINT,
    UNIQUE (controller_id, call_id)
);
CREATE INDEX recordings_by_subject ON recordings (controller_id, subject_id) WHERE subject_id IS NOT NULL;
CREATE INDEX recordings_awaiting_blob_deletion ON recordings (shredded_at) WHERE shredded_at IS NOT NULL AND blob_deleted_at IS NULL;

CREATE TABLE recording_keys (
    recording_id UUID   NOT NULL PRIMARY KEY REFERENCES recordings (id),
    kek_version  BIGINT NOT NULL,
    wrapped      BYTEA    NOT NULL
);

CREATE TABLE recording_listens (
    controller_id UUID    NOT NULL REFERENCES controllers (id),
    campaign      TEXT    NOT NULL,
    month         BIGINT NOT NULL,  -- the month's first instant (UTC)
    recording_id  UUID    NOT NULL,
    first_at      BIGINT NOT NULL,
    PRIMARY KEY (controller_id, campaign, month, recording_id)
);
