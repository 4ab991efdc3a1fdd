-- Member statistics as exports print them. `jsonb` must be rendered as text on every read,
-- which is the slowest part of a national body's export (about 1 KB a row); a stored `json`
-- copy prints as-is. The member total is kept for the CSV export's `membersTotal` column.
CREATE FUNCTION registry_members_total(stats jsonb) RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT sum((c ->> 'count')::bigint) FROM jsonb_array_elements(stats -> 'counts') c $$;
ALTER TABLE associations
    ADD COLUMN member_statistics_text json GENERATED ALWAYS AS (member_statistics::json) STORED,
    ADD COLUMN members_total bigint GENERATED ALWAYS AS (registry_members_total(member_statistics)) STORED;
