DELETE FROM change_log WHERE entity = 'vendor';
ALTER TABLE change_log DROP CONSTRAINT change_log_entity_check;
ALTER TABLE change_log ADD CONSTRAINT change_log_entity_check CHECK (entity IN ('facility', 'association', 'opening_hours'));
DROP TABLE vendor_units;
DROP TABLE vendor_municipalities;
DROP TABLE vendors;
