-- Controllers and agreements, user scopes, MFA, sessions, machine clients,
-- login throttling, attestations and data subjects. Append-only.

CREATE TABLE controllers (
    id             BLOB    PRIMARY KEY NOT NULL,
    name           TEXT    NOT NULL,
    country        TEXT    NOT NULL,
    dpo_contact    TEXT    NOT NULL,
    representative TEXT,
    created_at     INTEGER NOT NULL
) STRICT;

-- Each version of a controller's instructions is kept; the highest is in force.
-- `terms` is the agreement as JSON (purposes, categories, retention, ...).
CREATE TABLE agreements (
    controller_id BLOB    NOT NULL REFERENCES controllers (id),
    version       INTEGER NOT NULL CHECK (version >= 1),
    terms         TEXT    NOT NULL,
    recorded_at   INTEGER NOT NULL,
    recorded_by   BLOB    NOT NULL REFERENCES users (id),
    PRIMARY KEY (controller_id, version)
) STRICT;

CREATE TABLE user_controllers (
    user_id       BLOB NOT NULL REFERENCES users (id),
    controller_id BLOB NOT NULL REFERENCES controllers (id),
    PRIMARY KEY (user_id, controller_id)
) STRICT;

-- The TOTP secret is sealed (AES-256-GCM) by the application before storage.
ALTER TABLE users ADD COLUMN totp_secret BLOB;
ALTER TABLE users ADD COLUMN totp_confirmed_at INTEGER;
ALTER TABLE users ADD COLUMN totp_last_step INTEGER;

-- Sessions are found by the SHA-256 of their token; the token is never stored.
CREATE TABLE sessions (
    id          BLOB    PRIMARY KEY NOT NULL,
    digest      BLOB    NOT NULL UNIQUE,
    user_id     BLOB    NOT NULL REFERENCES users (id),
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    mfa_pending INTEGER NOT NULL CHECK (mfa_pending IN (0, 1)),
    revoked_at  INTEGER
) STRICT;
CREATE INDEX sessions_by_user ON sessions (user_id);

CREATE TABLE attestations (
    id          BLOB    PRIMARY KEY NOT NULL,
    user_id     BLOB    NOT NULL REFERENCES users (id),
    kind        TEXT    NOT NULL CHECK (kind IN ('confidentiality', 'privacy_training')),
    version     TEXT    NOT NULL,
    assessment  TEXT,
    attested_at INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    recorded_by BLOB    NOT NULL REFERENCES users (id)
) STRICT;
CREATE INDEX attestations_by_user ON attestations (user_id);

CREATE TABLE api_clients (
    id            BLOB    PRIMARY KEY NOT NULL,
    controller_id BLOB    NOT NULL REFERENCES controllers (id),
    name          TEXT    NOT NULL,
    kind          TEXT    NOT NULL CHECK (kind IN ('dialer', 'pbx', 'crm')),
    capabilities  TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    created_by    BLOB    NOT NULL REFERENCES users (id),
    revoked_at    INTEGER
) STRICT;
CREATE INDEX api_clients_by_controller ON api_clients (controller_id);

CREATE TABLE api_tokens (
    digest     BLOB    PRIMARY KEY NOT NULL,
    client_id  BLOB    NOT NULL REFERENCES api_clients (id),
    issued_by  BLOB    NOT NULL REFERENCES users (id),
    issued_at  INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
) STRICT;
CREATE INDEX api_tokens_by_client ON api_tokens (client_id);
CREATE INDEX api_tokens_by_issuer ON api_tokens (issued_by);

-- Failed sign-ins per key: a keyed digest of a username or of a network
-- address, so this table holds neither.
CREATE TABLE login_throttle (
    key          BLOB    PRIMARY KEY NOT NULL,
    failures     INTEGER NOT NULL,
    window_start INTEGER NOT NULL,
    locked_until INTEGER
) STRICT;

CREATE TABLE subjects (
    id            BLOB    PRIMARY KEY NOT NULL,
    controller_id BLOB    NOT NULL REFERENCES controllers (id),
    created_at    INTEGER NOT NULL
) STRICT;
CREATE INDEX subjects_by_controller ON subjects (controller_id, id);

CREATE TABLE subject_attributes (
    subject_id BLOB NOT NULL REFERENCES subjects (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    category   TEXT NOT NULL CHECK (category IN ('identity', 'contact', 'contractual', 'payment', 'special', 'behavioural')),
    value      TEXT NOT NULL,
    PRIMARY KEY (subject_id, name)
) STRICT;
