-- Whether annotators see which model wrote each CoT candidate (blind by default, to
-- avoid brand bias in rankings); an admin reveals it per project.
ALTER TABLE projects ADD COLUMN reveal_models BOOLEAN NOT NULL DEFAULT FALSE;
