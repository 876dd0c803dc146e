-- IDE sessions: each node's warm pool as it last reported it, and users'
-- sessions with their claim on a container.

CREATE TABLE pool_containers (
	node_id           bigint NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
	container_id      text NOT NULL CHECK (container_id ~ '^[a-f0-9]{12,64}$'),
	name              text NOT NULL DEFAULT '',
	class             text NOT NULL DEFAULT '',
	-- What the node reported.
	state             text NOT NULL CHECK (state IN ('starting', 'idle', 'claimed', 'destroying', 'failed')),
	reported_session  text,
	reported_at       timestamptz NOT NULL DEFAULT now(),
	-- The cloud's claim: set in one short transaction (FOR UPDATE SKIP
	-- LOCKED) and never by a report.
	session_id        text,
	PRIMARY KEY (node_id, container_id)
);

CREATE INDEX pool_containers_idle ON pool_containers (node_id) WHERE state = 'idle' AND session_id IS NULL;
CREATE UNIQUE INDEX pool_containers_session ON pool_containers (session_id) WHERE session_id IS NOT NULL;

CREATE TABLE sessions (
	id                text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_-]{8,64}$'),
	user_id           bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	-- queued: waiting for a container (served in queued_at order);
	-- starting: a container is claimed and being prepared;
	-- ready: sessiond answers; ending: autosave and release under way;
	-- ended. ("reconnecting" is shown for a ready session whose node is
	-- not connected; it is not stored.)
	state             text NOT NULL CHECK (state IN ('queued', 'starting', 'ready', 'ending', 'ended')),
	queued_at         timestamptz NOT NULL DEFAULT now(),
	node_id           bigint REFERENCES nodes (id) ON DELETE SET NULL,
	container_id      text,
	-- The claim's lease while starting: a claim whose cloud replica died
	-- is recovered when it expires.
	lease_expires_at  timestamptz,
	-- The container's sessiond token, injected by the cloud into tunnelled
	-- requests; cleared when the session ends.
	sessiond_token    text,
	-- SHA-256 of the session's git credential (the node clones and
	-- autosaves with it); valid until the session ends.
	git_token_hash    bytea CHECK (git_token_hash IS NULL OR octet_length(git_token_hash) = 32),
	base_commit       text NOT NULL DEFAULT '',
	last_autosave     text NOT NULL DEFAULT '',
	started_at        timestamptz,
	last_active_at    timestamptz NOT NULL DEFAULT now(),
	disconnected_at   timestamptz,
	ended_at          timestamptz,
	detail            text NOT NULL DEFAULT ''
);

-- One open session per user.
CREATE UNIQUE INDEX sessions_one_open ON sessions (user_id) WHERE state NOT IN ('ending', 'ended');
CREATE INDEX sessions_queue ON sessions (queued_at, id) WHERE state = 'queued';
CREATE INDEX sessions_node ON sessions (node_id) WHERE state <> 'ended';
