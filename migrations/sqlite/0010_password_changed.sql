-- When a user's password last changed (epoch ms): a session logged in before it is no
-- longer honoured, so changing a password ends every other session (issue 10).
ALTER TABLE users ADD COLUMN password_changed_at INTEGER NOT NULL DEFAULT 0;
