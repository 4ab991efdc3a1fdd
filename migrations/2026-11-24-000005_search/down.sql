DROP INDEX associations_name_trgm;
DROP INDEX facilities_category;
DROP INDEX facilities_locality_trgm;
DROP INDEX facilities_name_trgm;
DROP INDEX facilities_search_tsv;
ALTER TABLE facilities DROP COLUMN search_tsv;
