DROP INDEX audit_log_action;
DROP INDEX change_log_before_municipality;
DROP INDEX change_log_after_municipality;
DROP INDEX change_log_feed;
