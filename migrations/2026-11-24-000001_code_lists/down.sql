DROP FUNCTION registry_luhn_valid(text);
DROP FUNCTION registry_check_activity_codes();
DROP TABLE activities;
DROP TABLE facility_categories;
DROP TABLE municipalities;
DROP TABLE counties;
-- The extensions stay: other databases objects may use them and dropping PostGIS is slow.
