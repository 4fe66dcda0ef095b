-- The active-learning scorer (issue 8): cached embeddings, one row per training run
-- (its head's weights included, so every server scores with the same head), and the
-- reason shown beside a pair the scorer put first.

-- Keyed by the model version (the weights' sha256) and the text's sha256, so new
-- weights never reuse old vectors and a text shared by projects is embedded once.
CREATE TABLE embeddings (
    model_version TEXT NOT NULL,
    text_hash     TEXT NOT NULL,
    vector        BYTEA NOT NULL,  -- little-endian f32 values
    PRIMARY KEY (model_version, text_hash)
);

CREATE TABLE scorer_runs (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id       BIGINT NOT NULL REFERENCES projects(id),
    model_version    TEXT NOT NULL,
    labels_used      BIGINT NOT NULL,
    heldout_accuracy DOUBLE PRECISION,
    heldout_macro_f1 DOUBLE PRECISION,
    temperature      DOUBLE PRECISION NOT NULL,
    train_ms         BIGINT NOT NULL,
    head             BYTEA NOT NULL,  -- safetensors of the head's weights
    head_config      TEXT NOT NULL,  -- its shape and temperature (JSON)
    created_at       BIGINT NOT NULL
);
CREATE INDEX scorer_runs_project ON scorer_runs (project_id, id);

ALTER TABLE pairs ADD COLUMN priority_reason TEXT;
