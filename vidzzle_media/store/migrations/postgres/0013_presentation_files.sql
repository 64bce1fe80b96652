-- The twin of migrations/0013_presentation_files.sql.
CREATE TABLE presentation_files (
    presentation_id  BIGINT PRIMARY KEY REFERENCES presentations(id) ON DELETE CASCADE,
    data             BYTEA NOT NULL
);
