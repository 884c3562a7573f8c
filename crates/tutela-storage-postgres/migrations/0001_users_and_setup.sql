-- Append-only: never edit a migration that has shipped; add a new file.
-- Instants are stored as Unix microseconds (BIGINT) on both backends so that
-- values round-trip identically and the conformance suite compares exactly.

CREATE TABLE users (
    id            UUID    PRIMARY KEY,
    username      TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('administrator', 'dpo', 'supervisor', 'quality_reviewer', 'agent', 'auditor')),
    password_hash TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL,
    disabled_at   BIGINT,
    CONSTRAINT users_username_key UNIQUE (username)
);

-- The one-time token that lets the first administrator in. Only the SHA-256
-- digest of the token is stored; the token itself is printed once.
CREATE TABLE setup_tokens (
    digest      BYTEA   PRIMARY KEY,
    issued_at   BIGINT  NOT NULL,
    expires_at  BIGINT  NOT NULL,
    consumed_at BIGINT,
    consumed_by UUID    REFERENCES users (id)
);
