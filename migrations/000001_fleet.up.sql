-- Fleet backbone: compute nodes and what happened to them.

CREATE TABLE nodes (
	id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name               text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,62}$'),
	-- SHA-256 of the node token; the token itself is shown once and never stored.
	token_hash         bytea NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
	-- Labels the operator gave with `cloud node add --label`; they win over
	-- labels the gateway reports.
	labels             jsonb NOT NULL DEFAULT '{}'::jsonb,
	reported_labels    jsonb NOT NULL DEFAULT '{}'::jsonb,
	-- What the gateway reported at registration.
	version            text NOT NULL DEFAULT '',
	resources          jsonb NOT NULL DEFAULT '{}'::jsonb,
	-- new: issued, never connected; online; offline: no heartbeat within the window; revoked.
	status             text NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'online', 'offline', 'revoked')),
	last_heartbeat_at  timestamptz,
	-- The cloud replica holding the node's WebSocket, NULL when none does.
	replica            text,
	connected_at       timestamptz,
	created_at         timestamptz NOT NULL DEFAULT now(),
	revoked_at         timestamptz
);

-- The offline sweep scans online nodes by heartbeat age.
CREATE INDEX nodes_online_heartbeat ON nodes (last_heartbeat_at) WHERE status = 'online';

CREATE TABLE node_events (
	id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	node_id  bigint NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
	kind     text NOT NULL CHECK (kind IN ('connected', 'disconnected', 'offline', 'revoked')),
	replica  text,
	detail   text NOT NULL DEFAULT '',
	at       timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX node_events_node_at ON node_events (node_id, at);
