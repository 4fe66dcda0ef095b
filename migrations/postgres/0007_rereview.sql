-- Re-review (issue 6): when a published version changes or removes a rule, the judgments
-- that cited it under earlier versions can be sent to reviewers. Each row is one such
-- judgment and rule; a reviewer's decision resolves every open row of the pair and is
-- stored as a new judgment under the new version (`resolution_id`).
CREATE TABLE rereviews (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    pair_id         BIGINT NOT NULL REFERENCES pairs(id),
    judgment_id     BIGINT NOT NULL REFERENCES judgments(id),
    rule_key        TEXT NOT NULL,
    from_version_id BIGINT NOT NULL REFERENCES guideline_versions(id),
    to_version_id   BIGINT NOT NULL REFERENCES guideline_versions(id),
    created_at      BIGINT NOT NULL,
    resolved_at     BIGINT,
    resolved_by     BIGINT REFERENCES users(id),
    resolution_id   BIGINT REFERENCES judgments(id),
    UNIQUE (judgment_id, rule_key, to_version_id)
);
CREATE INDEX rereviews_open ON rereviews (pair_id) WHERE resolved_at IS NULL;
CREATE INDEX judgments_version ON judgments (guideline_version_id);
