-- Login attempts per account and per address, counted per one-minute window in the
-- database, so every server behind a load balancer enforces the same limits (issue 9).
CREATE TABLE login_attempts (
    key          TEXT NOT NULL,      -- 'account:NAME' (lower case) or 'address:IP'
    window_start BIGINT NOT NULL,    -- epoch ms, a multiple of 60000
    attempts     BIGINT NOT NULL,
    PRIMARY KEY (key, window_start)
);
CREATE INDEX login_attempts_window ON login_attempts (window_start);
