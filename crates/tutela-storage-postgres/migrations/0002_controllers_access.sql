-- Controllers and agreements, user scopes, MFA, sessions, machine clients,
-- login throttling, attestations and data subjects. Append-only.

CREATE TABLE controllers (
    id             UUID    PRIMARY KEY,
    name           TEXT    NOT NULL,
    country        TEXT    NOT NULL,
    dpo_contact    TEXT    NOT NULL,
    representative TEXT,
    created_at     BIGINT NOT NULL
);

-- Each version of a controller's instructions is kept; the highest is in force.
-- `terms` is the agreement as JSON (purposes, categories, retention, ...).
CREATE TABLE agreements (
    controller_id UUID    NOT NULL REFERENCES controllers (id),
    version       BIGINT NOT NULL CHECK (version >= 1),
    terms         TEXT    NOT NULL,
    recorded_at   BIGINT NOT NULL,
    recorded_by   UUID    NOT NULL REFERENCES users (id),
    PRIMARY KEY (controller_id, version)
);

CREATE TABLE user_controllers (
    user_id       UUID NOT NULL REFERENCES users (id),
    controller_id UUID NOT NULL REFERENCES controllers (id),
    PRIMARY KEY (user_id, controller_id)
);

-- The TOTP secret is sealed (AES-256-GCM) by the application before storage.
ALTER TABLE users ADD COLUMN totp_secret BYTEA;
ALTER TABLE users ADD COLUMN totp_confirmed_at BIGINT;
ALTER TABLE users ADD COLUMN totp_last_step BIGINT;

-- Sessions are found by the SHA-256 of their token; the token is never stored.
CREATE TABLE sessions (
    id          UUID    PRIMARY KEY,
    digest      BYTEA   NOT NULL UNIQUE,
    user_id     UUID    NOT NULL REFERENCES users (id),
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    mfa_pending BOOLEAN NOT NULL,
    revoked_at  BIGINT
);
CREATE INDEX sessions_by_user ON sessions (user_id);

CREATE TABLE attestations (
    id          UUID    PRIMARY KEY,
    user_id     UUID    NOT NULL REFERENCES users (id),
    kind        TEXT    NOT NULL CHECK (kind IN ('confidentiality', 'privacy_training')),
    version     TEXT    NOT NULL,
    assessment  TEXT,
    attested_at BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    recorded_by UUID    NOT NULL REFERENCES users (id)
);
CREATE INDEX attestations_by_user ON attestations (user_id);

CREATE TABLE api_clients (
    id            UUID    PRIMARY KEY,
    controller_id UUID    NOT NULL REFERENCES controllers (id),
    name          TEXT    NOT NULL,
    kind          TEXT    NOT NULL CHECK (kind IN ('dialer', 'pbx', 'crm')),
    capabilities  TEXT    NOT NULL,
    created_at    BIGINT NOT NULL,
    created_by    UUID    NOT NULL REFERENCES users (id),
    revoked_at    BIGINT
);
CREATE INDEX api_clients_by_controller ON api_clients (controller_id);

CREATE TABLE api_tokens (
    digest     BYTEA   PRIMARY KEY,
    client_id  UUID    NOT NULL REFERENCES api_clients (id),
    issued_by  UUID    NOT NULL REFERENCES users (id),
    issued_at  BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX api_tokens_by_client ON api_tokens (client_id);
CREATE INDEX api_tokens_by_issuer ON api_tokens (issued_by);

-- Failed sign-ins per key: a keyed digest of a username or of a network
-- address, so this table holds neither.
CREATE TABLE login_throttle (
    key          BYTEA   PRIMARY KEY,
    failures     BIGINT NOT NULL,
    window_start BIGINT NOT NULL,
    locked_until BIGINT
);

CREATE TABLE subjects (
    id            UUID    PRIMARY KEY,
    controller_id UUID    NOT NULL REFERENCES controllers (id),
    created_at    BIGINT NOT NULL
);
CREATE INDEX subjects_by_controller ON subjects (controller_id, id);

CREATE TABLE subject_attributes (
    subject_id UUID NOT NULL REFERENCES subjects (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    category   TEXT NOT NULL CHECK (category IN ('identity', 'contact', 'contractual', 'payment', 'special', 'behavioural')),
    value      TEXT NOT NULL,
    PRIMARY KEY (subject_id, name)
);
