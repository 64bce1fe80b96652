-- The PDFs of the presentations, in the store, for several nodes sharing it
-- (PostgreSQL): each node keeps them as files in its data_dir as a cache,
-- fetched from here on first use. One SQLite process has the file itself
-- and writes no rows here.
CREATE TABLE presentation_files (
    presentation_id  INTEGER PRIMARY KEY REFERENCES presentations(id) ON DELETE CASCADE,
    data             BLOB NOT NULL
);
