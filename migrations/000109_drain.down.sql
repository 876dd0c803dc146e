ALTER TABLE sessions DROP COLUMN moving_from;
ALTER TABLE nodes DROP COLUMN drain_detail;
ALTER TABLE nodes DROP COLUMN drain_requested_at;
