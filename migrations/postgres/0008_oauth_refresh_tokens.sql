-- OAuth2 refresh tokens kept in the database instead of a file (issue 12:
-- `refresh_token_store = "database"`, row named by `refresh_token_name`).
-- One row per name; a rotation replaces the token in one statement, so a
-- reader sees the old or the new token, never neither. Never logged.
CREATE TABLE oauth_refresh_tokens (
    name TEXT PRIMARY KEY,
    token TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
