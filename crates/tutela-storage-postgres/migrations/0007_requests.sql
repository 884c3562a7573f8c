-- Data-subject requests: the request and its deadlines, the blind indexes
-- of the identifiers it gave (never the identifiers), its history, the
-- one-time codes sent to verify identity (digests only), the letters
-- answering it, and the outbox of what is passed on to the controller.

CREATE TABLE dsr_requests (
    id               UUID    NOT NULL PRIMARY KEY,
    controller_id    UUID    NOT NULL REFERENCES controllers (id),
    kind             TEXT    NOT NULL,
    channel          TEXT    NOT NULL,
    language         TEXT    NOT NULL,
    state            TEXT    NOT NULL,
    received_at      BIGINT NOT NULL,
    zone             TEXT    NOT NULL,  -- IANA zone the deadlines are counted in
    due              TEXT    NOT NULL,  -- YYYY-MM-DD, inclusive
    latest_extension TEXT    NOT NULL,
    extended_until   TEXT,
    subject_id       UUID,              -- once verified
    duplicate_of     UUID,
    details          TEXT    NOT NULL,  -- JSON: purpose, channel (slugs only)
    verify_attempts  BIGINT NOT NULL DEFAULT 0,
    version          BIGINT NOT NULL,
    closed_at        BIGINT
);
CREATE INDEX dsr_open_by_due ON dsr_requests (controller_id, due) WHERE closed_at IS NULL;
CREATE INDEX dsr_by_subject ON dsr_requests (controller_id, subject_id) WHERE subject_id IS NOT NULL;

CREATE TABLE dsr_identifiers (
    request_id UUID NOT NULL REFERENCES dsr_requests (id),
    blind      BYTEA NOT NULL,
    PRIMARY KEY (request_id, blind)
);
CREATE INDEX dsr_identifiers_by_blind ON dsr_identifiers (blind);

CREATE TABLE dsr_history (
    request_id UUID    NOT NULL REFERENCES dsr_requests (id),
    seq        BIGINT NOT NULL,
    state      TEXT    NOT NULL,
    at         BIGINT NOT NULL,
    actor      TEXT    NOT NULL,
    detail     TEXT    NOT NULL,  -- JSON: reasons and dates, slugs only
    PRIMARY KEY (request_id, seq)
);

CREATE TABLE dsr_codes (
    request_id UUID    NOT NULL REFERENCES dsr_requests (id),
    subject_id UUID    NOT NULL,
    digest     BYTEA    NOT NULL,  -- keyed hash of the code
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (request_id, subject_id)
);

CREATE TABLE dsr_letters (
    request_id UUID    NOT NULL REFERENCES dsr_requests (id),
    seq        BIGINT NOT NULL,
    outcome    TEXT    NOT NULL,
    language   TEXT    NOT NULL,
    subject    TEXT    NOT NULL,
    body       TEXT    NOT NULL,
    at         BIGINT NOT NULL,
    PRIMARY KEY (request_id, seq)
);

CREATE TABLE dsr_outbox (
    id            UUID    NOT NULL PRIMARY KEY,
    controller_id UUID    NOT NULL REFERENCES controllers (id),
    request_id    UUID    NOT NULL REFERENCES dsr_requests (id),
    payload       TEXT    NOT NULL,  -- JSON handed to the controller
    created_at    BIGINT NOT NULL,
    delivered_at  BIGINT,
    delivered_to  TEXT
);
CREATE INDEX dsr_outbox_pending ON dsr_outbox (created_at) WHERE delivered_at IS NULL;
