ALTER TABLE sessions DROP COLUMN IF EXISTS git_token_expires_at;
DROP TABLE IF EXISTS replicas;
