-- Issue 17: each node's latest live CPU and memory sample (fleetproto.Stats,
-- as the node sent it, already bounded and checked by the link), so any
-- replica can serve the operator dashboard and the metrics.
CREATE TABLE node_stats (
	node_id      bigint PRIMARY KEY REFERENCES nodes (id) ON DELETE CASCADE,
	stats        jsonb NOT NULL CHECK (jsonb_typeof(stats) = 'object'),
	reported_at  timestamptz NOT NULL DEFAULT now()
);
