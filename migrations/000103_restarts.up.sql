-- Issue 11: sessions survive a dead container, replicas record liveness,
-- and a claim can ask for a container class.

-- restarting: the session's container stopped (died, OOM-killed, failed
-- its health checks) and the node is saving its workspace; once the save
-- is in and the container is gone the session is queued again, at the
-- front, and continues in a fresh container restored from that save.
ALTER TABLE sessions DROP CONSTRAINT sessions_state_check;
ALTER TABLE sessions ADD CONSTRAINT sessions_state_check
	CHECK (state IN ('queued', 'starting', 'ready', 'restarting', 'ending', 'ended'));
-- Restarts so far: a container that keeps dying ends the session rather
-- than loop.
ALTER TABLE sessions ADD COLUMN restarts integer NOT NULL DEFAULT 0;
-- The container class the session asked for; '' takes any.
ALTER TABLE sessions ADD COLUMN class text NOT NULL DEFAULT ''
	CHECK (class = '' OR class ~ '^[a-z0-9][a-z0-9._-]{0,63}$');

-- recovering: the node is saving a dead container's workspace.
ALTER TABLE pool_containers DROP CONSTRAINT pool_containers_state_check;
ALTER TABLE pool_containers ADD CONSTRAINT pool_containers_state_check
	CHECK (state IN ('starting', 'idle', 'claimed', 'recovering', 'destroying', 'failed'));

-- Replica liveness, on the database clock: a replica silent past the
-- offline window is dead and the nodes it held are let go.
ALTER TABLE replicas ADD COLUMN heartbeat_at timestamptz NOT NULL DEFAULT now();
