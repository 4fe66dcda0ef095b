-- Label quality (issue 7). An annotator whose first answers to their last `gold_window`
-- gold pairs match the gold label less often than `gold_min_accuracy` is flagged to the
-- project's admins and reviewers, and with `pause_flagged` gets no more pairs. A pair
-- goes to review when its own Krippendorff alpha (ordinal, against the project's
-- expected disagreement) is below `review_alpha`, among other reasons.
ALTER TABLE projects ADD COLUMN gold_window INTEGER NOT NULL DEFAULT 20 CHECK (gold_window BETWEEN 1 AND 1000);
ALTER TABLE projects ADD COLUMN gold_min_accuracy REAL NOT NULL DEFAULT 0.7 CHECK (gold_min_accuracy >= 0 AND gold_min_accuracy <= 1);
ALTER TABLE projects ADD COLUMN pause_flagged INTEGER NOT NULL DEFAULT 0 CHECK (pause_flagged IN (0, 1));
ALTER TABLE projects ADD COLUMN review_alpha REAL NOT NULL DEFAULT 0.5 CHECK (review_alpha >= -1 AND review_alpha <= 1);

-- A guideline has at most one draft (a version not yet published); `relabel guideline
-- import` replaces it and `relabel guideline publish` numbers it.
CREATE UNIQUE INDEX guideline_versions_one_draft ON guideline_versions (guideline_id) WHERE published_at IS NULL;
