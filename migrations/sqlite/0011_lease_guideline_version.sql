-- The guideline version current when a pair was handed out, kept with its lease: the
-- server stamps the judgment with it, whatever the client sends (issue 23).
ALTER TABLE leases ADD COLUMN guideline_version_id INTEGER REFERENCES guideline_versions(id);
