-- Per-project scorer settings (issue 8): `serve` retrains the head in the background
-- after every `retrain_every` newly completed pairs (0: never; `relabel scorer train`
-- still works), and `scorer_strategy` names the acquisition strategy that fills the
-- queue's priorities.
ALTER TABLE projects ADD COLUMN retrain_every INTEGER NOT NULL DEFAULT 0 CHECK (retrain_every >= 0);
ALTER TABLE projects ADD COLUMN scorer_strategy TEXT NOT NULL DEFAULT 'hybrid';

-- How many pairs were complete (all k judgments in, or adjudicated) when a run trained:
-- the background retrain compares it with the count now.
ALTER TABLE scorer_runs ADD COLUMN complete_pairs INTEGER NOT NULL DEFAULT 0;
