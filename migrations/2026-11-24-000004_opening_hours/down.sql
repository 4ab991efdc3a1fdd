DELETE FROM change_log WHERE entity = 'opening_hours';
ALTER TABLE change_log DROP CONSTRAINT change_log_entity_check;
ALTER TABLE change_log ADD CONSTRAINT change_log_entity_check CHECK (entity IN ('facility', 'association'));
DROP TABLE open_intervals;
DROP TABLE opening_hours;
