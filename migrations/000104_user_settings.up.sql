-- Issue 15: each user's IDE settings (theme, font size, tab size), the
-- object GET/PUT api/v1/settings speaks (shared/settings), validated by
-- the cloud before it is stored; one row per user who saved any.
CREATE TABLE user_settings (
	user_id     bigint PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
	settings    jsonb NOT NULL CHECK (jsonb_typeof(settings) = 'object' AND pg_column_size(settings) <= 4096),
	updated_at  timestamptz NOT NULL DEFAULT now()
);
