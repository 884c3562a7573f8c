-- Append-only: never edit a migration that has shipped; add a new file.
-- Instants are stored as Unix microseconds (INTEGER) on both backends so that
-- values round-trip identically and the conformance suite compares exactly.

CREATE TABLE users (
    id            BLOB    PRIMARY KEY NOT NULL,
    username      TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('administrator', 'dpo', 'supervisor', 'quality_reviewer', 'agent', 'auditor')),
    password_hash TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    disabled_at   INTEGER,
    CONSTRAINT users_username_key UNIQUE (username)
) STRICT;

-- The one-time token that lets the first administrator in. Only the SHA-256
-- digest of the token is stored; the token itself is printed once.
CREATE TABLE setup_tokens (
    digest      BLOB    PRIMARY KEY NOT NULL,
    issued_at   INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    consumed_at INTEGER,
    consumed_by BLOB    REFERENCES users (id)
) STRICT;
