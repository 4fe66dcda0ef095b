-- The whole domain of DESIGN.md section 2. Times are Unix epoch milliseconds (INTEGER)
-- on both backends, so lease and session arithmetic is the same SQL everywhere.
-- JSON-shaped fields (category path, attributes, steps, rankings) are TEXT holding JSON.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL
);

CREATE TABLE projects (
    id            INTEGER PRIMARY KEY,
    slug          TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    scale         TEXT NOT NULL,            -- preset name: lore4, esci, wands, or custom
    scale_labels  TEXT NOT NULL,            -- JSON array of labels, lowest level first
    overlap_k     INTEGER NOT NULL CHECK (overlap_k BETWEEN 1 AND 100),
    task          TEXT NOT NULL DEFAULT 'judge' CHECK (task IN ('judge', 'rank', 'judge+rank')),
    gold_rate     REAL NOT NULL DEFAULT 0.05 CHECK (gold_rate >= 0 AND gold_rate <= 1),
    lease_seconds INTEGER NOT NULL DEFAULT 600 CHECK (lease_seconds > 0),
    created_at    INTEGER NOT NULL
);

-- A role is held per project; project_id NULL means across all projects (a site admin).
CREATE TABLE memberships (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id),
    project_id INTEGER REFERENCES projects(id),
    role       TEXT NOT NULL CHECK (role IN ('admin', 'guideline_editor', 'reviewer', 'annotator')),
    created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX memberships_unique ON memberships (user_id, COALESCE(project_id, 0), role);

CREATE TABLE guidelines (
    id         INTEGER PRIMARY KEY,
    project_id INTEGER NOT NULL UNIQUE REFERENCES projects(id),
    created_at INTEGER NOT NULL
);

-- A draft has number, published_at NULL; a published version is immutable (trigger below).
CREATE TABLE guideline_versions (
    id           INTEGER PRIMARY KEY,
    guideline_id INTEGER NOT NULL REFERENCES guidelines(id),
    number       INTEGER,
    author_id    INTEGER REFERENCES users(id),
    change_note  TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    published_at INTEGER,
    UNIQUE (guideline_id, number)
);

CREATE TABLE rules (
    id           INTEGER PRIMARY KEY,
    version_id   INTEGER NOT NULL REFERENCES guideline_versions(id),
    rule_key     TEXT NOT NULL,             -- stable id such as R-BRAND-01
    position     INTEGER NOT NULL,
    title        TEXT NOT NULL,
    body         TEXT NOT NULL,             -- markdown
    capabilities TEXT NOT NULL DEFAULT '[]',
    dimension    TEXT,
    UNIQUE (version_id, rule_key)
);

CREATE TABLE queries (
    id         INTEGER PRIMARY KEY,
    project_id INTEGER NOT NULL REFERENCES projects(id),
    text       TEXT NOT NULL,
    frequency  INTEGER CHECK (frequency >= 0),
    band       TEXT NOT NULL DEFAULT 'tail' CHECK (band IN ('head', 'torso', 'tail')),
    UNIQUE (project_id, text)
);
CREATE INDEX queries_band ON queries (project_id, band);

CREATE TABLE items (
    id          INTEGER PRIMARY KEY,
    project_id  INTEGER NOT NULL REFERENCES projects(id),
    external_id TEXT NOT NULL,
    title       TEXT NOT NULL,
    category    TEXT NOT NULL DEFAULT '[]',
    attributes  TEXT NOT NULL DEFAULT '{}',
    price       REAL,
    images      TEXT NOT NULL DEFAULT '[]',
    description TEXT,
    UNIQUE (project_id, external_id)
);

CREATE TABLE pairs (
    id         INTEGER PRIMARY KEY,
    project_id INTEGER NOT NULL REFERENCES projects(id),
    query_id   INTEGER NOT NULL REFERENCES queries(id),
    item_id    INTEGER NOT NULL REFERENCES items(id),
    task       TEXT CHECK (task IN ('judge', 'rank', 'judge+rank')),  -- NULL: the project's
    priority   REAL,                        -- filled by the active-learning scorer
    shuffle_key INTEGER NOT NULL DEFAULT 0,    -- the queue's order until priorities exist (a seeded shuffle)
    judgment_count INTEGER NOT NULL DEFAULT 0, -- distinct annotators who judged it (revisions excluded)
    created_at INTEGER NOT NULL,
    UNIQUE (project_id, query_id, item_id)
);
CREATE INDEX pairs_item ON pairs (item_id);
CREATE INDEX pairs_queue ON pairs (project_id, priority DESC, shuffle_key);

CREATE TABLE pair_tags (
    pair_id INTEGER NOT NULL REFERENCES pairs(id),
    tag     TEXT NOT NULL,
    PRIMARY KEY (pair_id, tag)
);
CREATE INDEX pair_tags_tag ON pair_tags (tag, pair_id);

CREATE TABLE rule_examples (
    id                INTEGER PRIMARY KEY,
    rule_id           INTEGER NOT NULL REFERENCES rules(id),
    pair_id           INTEGER REFERENCES pairs(id),
    inline_query      TEXT,
    inline_item_title TEXT,
    label             TEXT NOT NULL,
    why               TEXT NOT NULL DEFAULT '',
    CHECK (pair_id IS NOT NULL OR (inline_query IS NOT NULL AND inline_item_title IS NOT NULL))
);

CREATE TABLE cot_candidates (
    id       INTEGER PRIMARY KEY,
    pair_id  INTEGER NOT NULL REFERENCES pairs(id),
    position INTEGER NOT NULL,
    model    TEXT NOT NULL,
    text     TEXT NOT NULL,
    steps    TEXT NOT NULL DEFAULT '[]',
    label    TEXT,
    UNIQUE (pair_id, position)
);

CREATE TABLE gold_answers (
    pair_id    INTEGER PRIMARY KEY REFERENCES pairs(id),
    label      TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

-- At most one live lease per (pair, annotator); an expired lease frees the pair.
CREATE TABLE leases (
    id         INTEGER PRIMARY KEY,
    pair_id    INTEGER NOT NULL REFERENCES pairs(id),
    user_id    INTEGER NOT NULL REFERENCES users(id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    UNIQUE (pair_id, user_id)
);
CREATE INDEX leases_expiry ON leases (expires_at);
CREATE INDEX leases_user ON leases (user_id, expires_at);

-- A skipped pair is not shown to that annotator again; it does not count toward k.
CREATE TABLE skips (
    id         INTEGER PRIMARY KEY,
    pair_id    INTEGER NOT NULL REFERENCES pairs(id),
    user_id    INTEGER NOT NULL REFERENCES users(id),
    reason     TEXT,
    created_at INTEGER NOT NULL,
    UNIQUE (pair_id, user_id)
);

-- Append-only: a revision is a new row with the next revision number (triggers below).
CREATE TABLE judgments (
    id                   INTEGER PRIMARY KEY,
    pair_id              INTEGER NOT NULL REFERENCES pairs(id),
    user_id              INTEGER NOT NULL REFERENCES users(id),
    revision             INTEGER NOT NULL DEFAULT 1 CHECK (revision >= 1),
    label                TEXT,
    rules_cited          TEXT NOT NULL DEFAULT '[]',   -- [{"rule":"R-BRAND-01","verdict":"applies"|"violated"}]
    rationale            TEXT,
    time_spent_ms        INTEGER CHECK (time_spent_ms >= 0),
    guideline_version_id INTEGER REFERENCES guideline_versions(id),
    ranking              TEXT,                         -- JSON list of tie groups of candidate ids
    first_wrong_steps    TEXT,                         -- JSON per candidate
    corrected_cot        TEXT,                         -- JSON list of steps
    idempotency_key      TEXT NOT NULL UNIQUE,
    created_at           INTEGER NOT NULL,
    UNIQUE (pair_id, user_id, revision)
);
CREATE INDEX judgments_user ON judgments (user_id, created_at);

CREATE TRIGGER judgments_no_update BEFORE UPDATE ON judgments
BEGIN SELECT RAISE(ABORT, 'judgments are append-only'); END;
CREATE TRIGGER judgments_no_delete BEFORE DELETE ON judgments
BEGIN SELECT RAISE(ABORT, 'judgments are append-only'); END;

CREATE TRIGGER guideline_versions_immutable BEFORE UPDATE ON guideline_versions
WHEN OLD.published_at IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'a published guideline version is immutable'); END;

-- A reviewer's decision on a pair's final label (the latest one counts).
CREATE TABLE adjudications (
    id          INTEGER PRIMARY KEY,
    pair_id     INTEGER NOT NULL REFERENCES pairs(id),
    reviewer_id INTEGER NOT NULL REFERENCES users(id),
    label       TEXT NOT NULL,
    note        TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL
);
CREATE INDEX adjudications_pair ON adjudications (pair_id, created_at);

-- Login sessions (tower-sessions records): the cookie holds the id, the row the data.
CREATE TABLE sessions (
    id         TEXT PRIMARY KEY,
    data       TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_expiry ON sessions (expires_at);

CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    actor_id    INTEGER REFERENCES users(id),
    action      TEXT NOT NULL,
    object_kind TEXT NOT NULL,
    object_id   INTEGER,
    detail      TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_at ON audit_log (at);
