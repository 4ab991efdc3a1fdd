DROP TABLE api_keys;
DROP TABLE audit_log;
DROP TABLE change_log;
DROP TABLE associations;
DROP TABLE facility_units;
DROP TABLE facilities;
