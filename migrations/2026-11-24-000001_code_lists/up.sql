CREATE EXTENSION IF NOT EXISTS postgis;
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS btree_gist;

-- Counties (län) and municipalities (kommuner), filled from the official list by the seed migration.
CREATE TABLE counties (
    code text PRIMARY KEY CHECK (code ~ '^[0-9]{2}$'),
    name text NOT NULL CHECK (name <> '')
);

CREATE TABLE municipalities (
    code text PRIMARY KEY CHECK (code ~ '^[0-9]{4}$'),
    name text NOT NULL CHECK (name <> ''),
    county_code text NOT NULL REFERENCES counties (code),
    CONSTRAINT municipality_code_starts_with_county CHECK (left(code, 2) = county_code)
);

CREATE TABLE facility_categories (
    code text PRIMARY KEY CHECK (code ~ '^[a-z][a-z0-9_]*$'),
    name_sv text NOT NULL CHECK (name_sv <> ''),
    name_en text NOT NULL CHECK (name_en <> '')
);

CREATE TABLE activities (
    code text PRIMARY KEY CHECK (code ~ '^[a-z][a-z0-9_]*$'),
    name_sv text NOT NULL CHECK (name_sv <> ''),
    name_en text NOT NULL CHECK (name_en <> '')
);

-- Arrays of activity codes cannot carry a foreign key; this trigger function gives them one.
CREATE FUNCTION registry_check_activity_codes() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad text;
BEGIN
    SELECT a INTO bad FROM unnest(NEW.activities) AS a
    WHERE a IS NULL OR NOT EXISTS (SELECT 1 FROM activities WHERE code = a)
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
            MESSAGE = format('unknown activity code %L', bad),
            COLUMN = 'activities', CONSTRAINT = 'activities_are_known', TABLE = TG_TABLE_NAME;
    END IF;
    RETURN NEW;
END
$$;

-- Luhn check for organisation numbers, so the database rejects what the core rejects.
CREATE FUNCTION registry_luhn_valid(digits text) RETURNS boolean
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE sql AS $$
    SELECT digits ~ '^[0-9]+$' AND (
        SELECT sum(CASE WHEN (length(digits) - i) % 2 = 1
                        THEN (CASE WHEN d * 2 > 9 THEN d * 2 - 9 ELSE d * 2 END)
                        ELSE d END) % 10 = 0
        FROM (SELECT i, substr(digits, i, 1)::int AS d FROM generate_series(1, length(digits)) AS i) AS s
    )
$$;
