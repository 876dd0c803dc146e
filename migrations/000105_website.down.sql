ALTER TABLE sessions DROP COLUMN phase;
ALTER TABLE users DROP COLUMN is_admin;
