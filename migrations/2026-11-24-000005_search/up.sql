-- Search: Swedish full text over name, locality and description, trigram similarity for
-- typos in names and localities, and the indexes the search shapes use.
ALTER TABLE facilities ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('swedish', name), 'A')
    || setweight(to_tsvector('swedish', locality), 'B')
    || setweight(to_tsvector('swedish', description), 'C')) STORED;
CREATE INDEX facilities_search_tsv ON facilities USING gin (search_tsv) WHERE deleted_at IS NULL;
CREATE INDEX facilities_name_trgm ON facilities USING gin (name gin_trgm_ops) WHERE deleted_at IS NULL;
CREATE INDEX facilities_locality_trgm ON facilities USING gin (locality gin_trgm_ops) WHERE deleted_at IS NULL;
CREATE INDEX facilities_category ON facilities (category) WHERE deleted_at IS NULL;
CREATE INDEX associations_name_trgm ON associations USING gin (name gin_trgm_ops) WHERE deleted_at IS NULL;
