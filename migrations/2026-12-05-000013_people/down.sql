DROP TABLE staff;
DROP TABLE sessions;
DROP TABLE oidc_logins;
