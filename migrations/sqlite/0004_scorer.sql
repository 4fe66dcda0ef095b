-- The active-learning scorer (issue 8): cached embeddings, one row per training run
-- (its head's weights included, so every server scores with the same head), and the
-- reason shown beside a pair the scorer put first.

-- Keyed by the model version (the weights' sha256) and the text's sha256, so new
-- weights never reuse old vectors and a text shared by projects is embedded once.
CREATE TABLE embeddings (
    model_version TEXT NOT NULL,
    text_hash     TEXT NOT NULL,
    vector        BLOB NOT NULL,   -- little-endian f32 values
    PRIMARY KEY (model_version, text_hash)
);

CREATE TABLE scorer_runs (
    id               INTEGER PRIMARY KEY,
    project_id       INTEGER NOT NULL REFERENCES projects(id),
    model_version    TEXT NOT NULL,
    labels_used      INTEGER NOT NULL,
    heldout_accuracy REAL,
    heldout_macro_f1 REAL,
    temperature      REAL NOT NULL,
    train_ms         INTEGER NOT NULL,
    head             BLOB NOT NULL,  -- safetensors of the head's weights
    head_config      TEXT NOT NULL,  -- its shape and temperature (JSON)
    created_at       INTEGER NOT NULL
);
CREATE INDEX scorer_runs_project ON scorer_runs (project_id, id);

ALTER TABLE pairs ADD COLUMN priority_reason TEXT;
