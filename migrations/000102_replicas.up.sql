-- Several cloud replicas: where each one takes replica-to-replica calls,
-- so a replica that does not hold a node's link can forward tunnelled
-- connections and node commands to the one that does (nodes.replica).

CREATE TABLE replicas (
	name          text PRIMARY KEY,
	-- Base URL of the replica's internal listener, e.g. http://10.0.0.5:8481.
	internal_url  text NOT NULL,
	started_at    timestamptz NOT NULL DEFAULT now()
);

-- A session credential given again after the session ended, so the node
-- can autosave an orphaned container (one it still held when it returned
-- after the session ended) before destroying it.
ALTER TABLE sessions ADD COLUMN git_token_expires_at timestamptz;
