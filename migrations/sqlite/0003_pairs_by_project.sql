-- Exports page through a project's pairs in id order (keyset paging); without this
-- index SQLite sorts the whole project for every page.
CREATE INDEX pairs_project_id ON pairs (project_id, id);
