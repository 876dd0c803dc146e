-- Issue 16: batch tasks on the fleet. A task names its code and its
-- environment as (repo URL, commit id) pairs pinned at submit, the
-- Dockerfile inside the env repo, the command, what it needs from a node,
-- its inputs and the artifact paths it leaves in /out. The scheduler
-- (cloud/tasks) picks queued rows FOR UPDATE SKIP LOCKED; every state
-- change is a task_events row.
CREATE TABLE tasks (
	id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	user_id          bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	state            text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'dispatched', 'fetching', 'building',
	                     'running', 'uploading', 'succeeded', 'failed', 'cancelled', 'lost')),
	code_repo_url    text NOT NULL,
	code_commit_id   text NOT NULL CHECK (code_commit_id ~ '^[a-f0-9]{40}$'),
	env_repo_url     text NOT NULL,
	env_commit_id    text NOT NULL CHECK (env_commit_id ~ '^[a-f0-9]{40}$'),
	dockerfile_path  text NOT NULL CHECK (dockerfile_path <> '' AND dockerfile_path !~ '(^|/)\.\.(/|$)' AND left(dockerfile_path, 1) <> '/'),
	command          jsonb NOT NULL CHECK (jsonb_typeof(command) = 'array' AND jsonb_array_length(command) > 0),
	cpus             double precision NOT NULL CHECK (cpus > 0),
	memory_bytes     bigint NOT NULL CHECK (memory_bytes > 0),
	gpus             integer NOT NULL DEFAULT 0 CHECK (gpus >= 0),
	-- Node labels the task requires (key → value), all of them.
	labels           jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(labels) = 'object'),
	timeout_ms       bigint NOT NULL CHECK (timeout_ms > 0),
	priority         integer NOT NULL DEFAULT 0,
	-- [{"path": "in/x", "object": "<store key>"}]: copied to /in before the run.
	inputs           jsonb NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(inputs) = 'array'),
	-- ["top.bin", ...]: paths under /out uploaded after the run.
	artifact_paths   jsonb NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(artifact_paths) = 'array'),
	-- Artifacts the node uploaded: path → size in bytes.
	artifacts        jsonb NOT NULL DEFAULT '{}'::jsonb,
	-- attempt numbers every dispatch; max_attempts bounds the runs that
	-- end lost (a node gone), dispatch_failures the dispatches that never
	-- reached a node.
	attempt          integer NOT NULL DEFAULT 0,
	max_attempts     integer NOT NULL DEFAULT 3 CHECK (max_attempts BETWEEN 1 AND 10),
	lost_attempts    integer NOT NULL DEFAULT 0,
	dispatch_failures integer NOT NULL DEFAULT 0,
	node_id          bigint REFERENCES nodes (id) ON DELETE SET NULL,
	-- SHA-256 of the attempt's read-only git credential (gwt_...).
	git_token_hash   bytea CHECK (git_token_hash IS NULL OR octet_length(git_token_hash) = 32),
	exit_code        integer,
	detail           text NOT NULL DEFAULT '',
	image            text NOT NULL DEFAULT '',
	image_cached     boolean NOT NULL DEFAULT false,
	created_at       timestamptz NOT NULL DEFAULT now(),
	dispatched_at    timestamptz,
	running_at       timestamptz,
	finished_at      timestamptz,
	updated_at       timestamptz NOT NULL DEFAULT now()
);

-- The scheduler's pick: queued tasks by priority, then arrival.
CREATE INDEX tasks_queued ON tasks (priority DESC, id) WHERE state = 'queued';
-- What holds a node's resources, and what a lost node had.
CREATE INDEX tasks_active_node ON tasks (node_id) WHERE state IN ('dispatched', 'fetching', 'building', 'running', 'uploading');
CREATE INDEX tasks_user ON tasks (user_id, id DESC);

CREATE TABLE task_events (
	id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	task_id  bigint NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
	attempt  integer NOT NULL,
	state    text NOT NULL,
	node_id  bigint REFERENCES nodes (id) ON DELETE SET NULL,
	detail   text NOT NULL DEFAULT '',
	at       timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX task_events_task ON task_events (task_id, id);

-- A task's output as the node streamed it, chunk by chunk.
CREATE TABLE task_logs (
	task_id  bigint NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
	attempt  integer NOT NULL,
	seq      bigint NOT NULL,
	data     bytea NOT NULL,
	at       timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (task_id, attempt, seq)
);
