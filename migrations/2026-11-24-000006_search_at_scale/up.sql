-- Search at national scale (a million facilities).
--
-- Distance: nearest-first search walks a two-dimensional index in SWEREF 99 TM (EPSG:3006,
-- metres) with KNN, which is several times cheaper per row than the geography index. Over
-- Sweden a distance in SWEREF 99 TM is within 0.5 % of the distance on the WGS84 spheroid, so
-- the core fetches candidates in TM order and returns them ordered by the exact spheroid
-- distance (see registry-core/src/search.rs).
ALTER TABLE facilities ADD COLUMN location_tm geometry(Point, 3006)
    GENERATED ALWAYS AS (ST_Transform(location::geometry, 3006)) STORED;
CREATE INDEX facilities_location_tm ON facilities USING gist (location_tm) WHERE deleted_at IS NULL;

-- Typo tolerance: the distinct words of facility names and localities and of association
-- names. A query word that is not one of them is matched by trigram similarity against this
-- small table (tens of thousands of words for the whole country) instead of against every
-- name, and its closest words join the full-text query, which the GIN index answers. Words are
-- only ever added: a word no name uses any more simply matches nothing.
CREATE TABLE search_words (word text PRIMARY KEY CHECK (char_length(word) BETWEEN 2 AND 100));
CREATE INDEX search_words_trgm ON search_words USING gist (word gist_trgm_ops);

-- Lower-case words of a text: split at everything that is not a letter or digit (å, ä, ö and
-- é are letters whatever the database's locale).
CREATE FUNCTION registry_words(t text) RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(DISTINCT w), '{}')
    FROM regexp_split_to_table(translate(lower(t), 'ÅÄÖÉÜ', 'åäöéü'), '[^[:alnum:]åäöéüæø]+') AS w
    WHERE char_length(w) BETWEEN 2 AND 100
$$;

CREATE FUNCTION registry_collect_words() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'facilities' THEN
        INSERT INTO search_words SELECT unnest(registry_words(NEW.name || ' ' || NEW.locality)) ON CONFLICT DO NOTHING;
    ELSE
        INSERT INTO search_words SELECT unnest(registry_words(NEW.name)) ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER facilities_collect_words AFTER INSERT OR UPDATE OF name, locality ON facilities
    FOR EACH ROW EXECUTE FUNCTION registry_collect_words();
CREATE TRIGGER associations_collect_words AFTER INSERT OR UPDATE OF name ON associations
    FOR EACH ROW EXECUTE FUNCTION registry_collect_words();
INSERT INTO search_words
    SELECT unnest(registry_words(name || ' ' || locality)) FROM facilities
    UNION SELECT unnest(registry_words(name)) FROM associations
    ON CONFLICT DO NOTHING;

-- Association names get the same Swedish full-text index as facilities.
ALTER TABLE associations ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS (to_tsvector('swedish', name)) STORED;
CREATE INDEX associations_search_tsv ON associations USING gin (search_tsv) WHERE deleted_at IS NULL;

-- The open-at filter reads one facility's 400 days of intervals per candidate; LZ4 unpacks
-- them several times faster than the default compression (kept where the server lacks LZ4).
DO $$
BEGIN
    ALTER TABLE open_intervals ALTER COLUMN during SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN
    RAISE NOTICE 'this PostgreSQL has no LZ4; open intervals keep the default compression';
END
$$;
