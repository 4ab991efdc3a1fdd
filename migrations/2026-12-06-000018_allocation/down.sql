DELETE FROM change_log WHERE entity IN ('allocation_round', 'allocation_application');
ALTER TABLE change_log DROP CONSTRAINT change_log_entity_check;
ALTER TABLE change_log ADD CONSTRAINT change_log_entity_check CHECK (entity IN ('facility', 'association', 'opening_hours', 'vendor'));
DROP TABLE allocation_series;
DROP TABLE allocation_comments;
ALTER TABLE allocation_rounds DROP COLUMN published_run, DROP COLUMN final_run;
DROP TABLE allocation_runs;
DROP TABLE allocation_applications;
DROP TABLE allocation_rounds;
