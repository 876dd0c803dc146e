ALTER TABLE replicas DROP COLUMN IF EXISTS heartbeat_at;

UPDATE pool_containers SET state = 'failed' WHERE state = 'recovering';
ALTER TABLE pool_containers DROP CONSTRAINT pool_containers_state_check;
ALTER TABLE pool_containers ADD CONSTRAINT pool_containers_state_check
	CHECK (state IN ('starting', 'idle', 'claimed', 'destroying', 'failed'));

ALTER TABLE sessions DROP COLUMN IF EXISTS class;
ALTER TABLE sessions DROP COLUMN IF EXISTS restarts;
UPDATE sessions SET state = 'queued' WHERE state = 'restarting';
ALTER TABLE sessions DROP CONSTRAINT sessions_state_check;
ALTER TABLE sessions ADD CONSTRAINT sessions_state_check
	CHECK (state IN ('queued', 'starting', 'ready', 'ending', 'ended'));
