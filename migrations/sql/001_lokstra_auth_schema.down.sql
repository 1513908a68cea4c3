-- Drops the whole lokstra_auth schema created by 001, data included.
-- The runner only runs this on an explicit `migrate down`.
DROP TABLE lokstra_auth.app_keys;
DROP TABLE lokstra_auth.user_apps;
DROP TABLE lokstra_auth.users;
DROP TABLE lokstra_auth.branches;
DROP TABLE lokstra_auth.apps;
DROP TABLE lokstra_auth.tenants;
DROP FUNCTION lokstra_auth.update_updated_at_column();
DROP SCHEMA lokstra_auth;
