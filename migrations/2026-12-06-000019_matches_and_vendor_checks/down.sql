DELETE FROM change_log WHERE entity = 'allocation_match';
ALTER TABLE change_log DROP CONSTRAINT change_log_entity_check;
ALTER TABLE change_log ADD CONSTRAINT change_log_entity_check
    CHECK (entity IN ('facility', 'association', 'opening_hours', 'vendor', 'allocation_round', 'allocation_application'));
DELETE FROM allocation_series WHERE match_id IS NOT NULL;
DROP INDEX allocation_series_match;
DROP INDEX allocation_series_training;
ALTER TABLE allocation_series DROP COLUMN match_id, DROP COLUMN match_date;
ALTER TABLE allocation_series ADD PRIMARY KEY (round_id, application_id, wish, session);
DROP TABLE allocation_matches;
ALTER TABLE allocation_runs DROP COLUMN kind, DROP COLUMN vendor_checks;
