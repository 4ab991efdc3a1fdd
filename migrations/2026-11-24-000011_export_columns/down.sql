ALTER TABLE associations DROP COLUMN members_total, DROP COLUMN member_statistics_text;
DROP FUNCTION registry_members_total(jsonb);
