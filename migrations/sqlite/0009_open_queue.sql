-- The claim walks the queue in order and passes over every pair already judged k times,
-- so the walk grew with the project's progress (BENCHMARKS.md, issue 9). `filled` marks
-- those pairs (judgment_count >= the project's k; kept by the submit and by a change of
-- k) and the partial index holds only the others, so a claim starts at the open ones.
ALTER TABLE pairs ADD COLUMN filled INTEGER NOT NULL DEFAULT 0;
UPDATE pairs SET filled = 1
WHERE judgment_count >= (SELECT overlap_k FROM projects WHERE projects.id = pairs.project_id);
CREATE INDEX pairs_open_queue ON pairs (project_id, priority DESC, shuffle_key) WHERE filled = 0;
