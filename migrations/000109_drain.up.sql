-- Issue 17: draining a node for maintenance (`cloud node drain NAME`).
-- drain_requested_at is when an operator asked; NULL means not draining
-- (`cloud node undrain`). While it is set the node gets no new claims (nor
-- batch tasks), keeps no idle containers, and its sessions are saved and
-- moved to other nodes; it is drained once it holds none.
ALTER TABLE nodes ADD COLUMN drain_requested_at timestamptz;
-- What the drain could not do yet (a session whose save failed stays on
-- the node and is retried); '' when nothing failed.
ALTER TABLE nodes ADD COLUMN drain_detail text NOT NULL DEFAULT '';
-- The node a session is being moved away from by a drain: the move is
-- not a restart (it does not count towards the restart limit).
ALTER TABLE sessions ADD COLUMN moving_from bigint REFERENCES nodes (id) ON DELETE SET NULL;
