-- Accounts: users, their browser sessions and the sign-in attempts that the
-- rate limit counts (kept here so every cloud replica sees the same count).

CREATE TABLE users (
	id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name           text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9_.-]{0,62}$'),
	-- PHC string: $argon2id$v=19$m=...,t=...,p=...$salt$hash
	password_hash  text NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
	created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE web_sessions (
	-- SHA-256 of the cookie's token; the token itself is never stored.
	token_hash    bytea PRIMARY KEY CHECK (octet_length(token_hash) = 32),
	user_id       bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	created_at    timestamptz NOT NULL DEFAULT now(),
	last_seen_at  timestamptz NOT NULL DEFAULT now(),
	expires_at    timestamptz NOT NULL
);

CREATE INDEX web_sessions_user ON web_sessions (user_id);
CREATE INDEX web_sessions_expires ON web_sessions (expires_at);

CREATE TABLE signin_failures (
	id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	-- 'user:NAME' or 'ip:ADDR'
	key  text NOT NULL,
	at   timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX signin_failures_key_at ON signin_failures (key, at);
