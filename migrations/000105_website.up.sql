-- The website: admins (who see the users and add them on the home page)
-- and what a starting session is doing, shown while it starts.

ALTER TABLE users ADD COLUMN is_admin boolean NOT NULL DEFAULT false;

-- While starting: 'repo' (preparing the user's repo), 'cloning' (the node
-- clones it into the claimed container and restores the last save),
-- 'connecting' (waiting for the container's sessiond). '' otherwise.
ALTER TABLE sessions ADD COLUMN phase text NOT NULL DEFAULT ''
	CHECK (phase IN ('', 'repo', 'cloning', 'connecting'));
