-- Local accounts (for teams without an identity provider) and the audit trail.
-- A password is kept only as its argon2id hash. The audit trail is append-only: each entry
-- carries the hash of the one before it, so `streetsafe audit verify` finds an edited or a
-- deleted entry (the embedded engine has no way to forbid the edit itself).
CREATE TABLE IF NOT EXISTS users (
    email TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    agency TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    disabled BOOLEAN NOT NULL,
    failed INTEGER NOT NULL,
    locked_until TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    changed_at TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS audit (
    seq BIGINT PRIMARY KEY,
    logged_at TIMESTAMP NOT NULL,
    event TEXT NOT NULL,
    actor TEXT NOT NULL,
    role TEXT NOT NULL,
    agency TEXT NOT NULL,
    detail TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
