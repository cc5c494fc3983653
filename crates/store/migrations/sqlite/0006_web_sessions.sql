-- Sessions of the box-office web pages. The cookie carries a random token;
-- only its SHA-256 is stored. Signing out revokes the row, and a session of a
-- deactivated user stops working at its next request.
CREATE TABLE web_sessions (
    token_hash TEXT PRIMARY KEY,
    user_id BLOB NOT NULL REFERENCES users (id),
    -- Sent back by the pages in X-CSRF-Token or a csrf_token form field on
    -- every request that changes something.
    csrf_token TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked BOOLEAN NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
CREATE INDEX web_sessions_user_idx ON web_sessions (user_id);
