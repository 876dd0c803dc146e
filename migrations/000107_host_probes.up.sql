-- Issue 16, maintenance probes (host.ssh): every host.probe and host.exec an
-- operator asks for. The row is written before the command is sent to the
-- node and completed when the answer comes back, so a use that never
-- finished (the cloud crashed, the link dropped) is still on record with
-- finished_at NULL.
CREATE TABLE host_probe_audit (
	id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	at            timestamptz NOT NULL DEFAULT now(),
	-- Who asked: the credential the request carried (today the admin token).
	actor         text NOT NULL,
	remote_addr   text NOT NULL,
	-- The node as named in the request; node_id is NULL for a name no node has.
	node_name     text NOT NULL,
	node_id       bigint REFERENCES nodes (id) ON DELETE SET NULL,
	kind          text NOT NULL CHECK (kind IN ('probe', 'exec')),
	-- {"probe": "disk"} or {"argv": [...], "timeout_ms": N}.
	request       jsonb NOT NULL CHECK (jsonb_typeof(request) = 'object'),
	-- NULL until finished; true when the node answered with a result
	-- (exit_code and timed_out then say how the command ended), false when
	-- it was refused or failed (error says why).
	ok            boolean,
	exit_code     integer,
	timed_out     boolean NOT NULL DEFAULT false,
	output_bytes  integer CHECK (output_bytes >= 0),
	error         text NOT NULL DEFAULT '',
	finished_at   timestamptz,
	CHECK ((finished_at IS NULL) = (ok IS NULL))
);

CREATE INDEX host_probe_audit_node ON host_probe_audit (node_name, id DESC);
