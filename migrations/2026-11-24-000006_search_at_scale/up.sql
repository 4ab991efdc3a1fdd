-- Search at national scale (a million facilities).
--
-- Distance: nearest-first search walks a two-dimensional index in SWEREF 99 TM (EPSG:3006,
-- metres) with KNN, which is several times cheaper per row than the geography index. Over
-- Sweden a distance in SWEREF 99 TM is within 0.5 % of the distance on the WGS84 spheroid, so
-- the core fetches candidates in TM order and returns them ordered by the exact spheroid
-- distance (see registry-core/src/search.rs).
--
-- The walk also answers the activity filter inside the index: `activity_hashes` holds a hash
-- of each activity code (intarray's GiST operator class indexes it next to the location), so
-- the walk skips facilities without the activity instead of fetching every row it passes. On
-- 1,000,000 facilities a rare activity in central Stockholm went from 8 ms to 0.5 ms. Hash
-- collisions only add candidates: the exact `activities` test still runs on each hit.
CREATE EXTENSION IF NOT EXISTS intarray;
CREATE FUNCTION registry_code_hashes(codes text[]) RETURNS int[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(DISTINCT hashtext(c)), '{}') FROM unnest(codes) AS c
$$;
ALTER TABLE facilities
    ADD COLUMN location_tm geometry(Point, 3006) GENERATED ALWAYS AS (ST_Transform(location::geometry, 3006)) STORED,
    ADD COLUMN activity_hashes int[] GENERATED ALWAYS AS (registry_code_hashes(activities)) STORED;
CREATE INDEX facilities_location_tm ON facilities USING gist (location_tm, activity_hashes gist__int_ops) WHERE deleted_at IS NULL;

-- Name order (the default without `near` or `q`): a county or a map box walks names in order
-- instead of sorting every facility in it.
CREATE INDEX facilities_name ON facilities (name, id) WHERE deleted_at IS NULL;

-- Typo tolerance: the distinct words of facility names and localities and of association
-- names. A query word that is not one of them is matched by trigram similarity against this
-- small table (tens of thousands of words for the whole country) instead of against every
-- name, and its closest words join the full-text query, which the GIN index answers. Words are
-- only ever added: a word no name uses any more simply matches nothing.
-- Byte order (COLLATE "C") lets the primary key find every word that starts with a query word
-- (Swedish compounds: `innebandy` → `innebandyklubb`); the trigram index finds the closest
-- words to a misspelt one (GIN: several times faster than GiST on a table this size).
CREATE TABLE search_words (word text COLLATE "C" PRIMARY KEY CHECK (char_length(word) BETWEEN 2 AND 100));
CREATE INDEX search_words_trgm ON search_words USING gin (word gin_trgm_ops);

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

-- The open-at filter checks one facility per candidate. 400 days of intervals are several
-- kilobytes, stored out of line (TOAST), and fetching them costs tens of microseconds per
-- facility; the first 35 days (`soon`, kept by a trigger from `during`) stay in the row, and
-- the search reads `during` only for instants beyond `soon_end`.
ALTER TABLE open_intervals ADD COLUMN soon tstzmultirange, ADD COLUMN soon_end timestamptz;
CREATE FUNCTION registry_open_soon() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.soon_end := NEW.window_start + interval '35 days';
    NEW.soon := NEW.during * tstzmultirange(tstzrange(NEW.window_start, NEW.soon_end));
    RETURN NEW;
END
$$;
CREATE TRIGGER open_intervals_soon BEFORE INSERT OR UPDATE OF during, window_start ON open_intervals
    FOR EACH ROW EXECUTE FUNCTION registry_open_soon();
UPDATE open_intervals SET window_start = window_start;
ALTER TABLE open_intervals ALTER COLUMN soon SET NOT NULL, ALTER COLUMN soon_end SET NOT NULL;
-- LZ4 unpacks several times faster than the default compression (kept where the server lacks it).
DO $$
BEGIN
    ALTER TABLE open_intervals ALTER COLUMN during SET COMPRESSION lz4, ALTER COLUMN soon SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN
    RAISE NOTICE 'this PostgreSQL has no LZ4; open intervals keep the default compression';
END
$$;
