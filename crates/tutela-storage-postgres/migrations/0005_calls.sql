-- Call gating: when each lead list was checked against which registry
-- snapshot, the outcomes dialers report, and suppressions. Numbers appear
-- only as blind indexes (keyed hashes, per controller).

-- History of checks: a list is callable only while its latest check per
-- registry is within that registry's validity window.
CREATE TABLE list_registry_checks (
    list_id         UUID   NOT NULL,
    registry        TEXT   NOT NULL,
    as_of           BIGINT NOT NULL,  -- the snapshot's as-of instant
    snapshot_sha256 BYTEA  NOT NULL,
    checked_at      BIGINT NOT NULL,
    listed          BIGINT NOT NULL,  -- members found on the registry
    PRIMARY KEY (list_id, registry, checked_at)
);
CREATE TRIGGER list_registry_checks_no_update BEFORE UPDATE ON list_registry_checks
    FOR EACH ROW EXECUTE FUNCTION refuse_update();

-- One row per reported outcome (every outcome is an attempt). A retried
-- report of the same outcome at the same instant is the same report.
CREATE TABLE call_outcomes (
    controller_id UUID   NOT NULL REFERENCES controllers (id),
    blind         BYTEA  NOT NULL,
    at            BIGINT NOT NULL,
    outcome       TEXT   NOT NULL CHECK (outcome IN ('answered', 'refused', 'silent', 'no_answer')),
    PRIMARY KEY (controller_id, blind, at, outcome)
);

-- Numbers and addresses never to be contacted again for a controller
-- (erased persons), kept only as blind indexes.
CREATE TABLE suppressions (
    controller_id UUID   NOT NULL REFERENCES controllers (id),
    blind         BYTEA  NOT NULL,
    reason        TEXT   NOT NULL,
    at            BIGINT NOT NULL,
    PRIMARY KEY (controller_id, blind)
);
