-- Change feeds read the log of one entity kind in sequence order (RPDE feeds, WatchChanges).
CREATE INDEX change_log_feed ON change_log (entity, seq);
-- A municipality reads the audit trail of its own data: the municipality is in the entity's
-- state before or after the change (opening hours are found through their facility).
CREATE INDEX change_log_after_municipality ON change_log ((after ->> 'municipalityCode'), seq);
CREATE INDEX change_log_before_municipality ON change_log ((before ->> 'municipalityCode'), seq);
-- Personal-data reads and exports, looked up by what they touched and by who.
CREATE INDEX audit_log_action ON audit_log (action, at);
