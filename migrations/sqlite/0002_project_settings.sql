-- Whether annotators see which model wrote each CoT candidate (blind by default, to
-- avoid brand bias in rankings); an admin reveals it per project.
ALTER TABLE projects ADD COLUMN reveal_models INTEGER NOT NULL DEFAULT 0 CHECK (reveal_models IN (0, 1));
