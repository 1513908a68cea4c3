-- Indexes for the console's keyset paging. Every page is ordered by one unique key per
-- scope, compared with COLLATE "C" (byte order of UTF-8 = code-point order) so that the
-- PostgreSQL and memory backends return identical pages whatever the database's default
-- collation is. Prefix filters (LIKE 'abc%') use the same indexes because they are "C".
CREATE INDEX idx_tenants_name_c ON lokstra_auth.tenants (name COLLATE "C");
CREATE INDEX idx_apps_tenant_name_c ON lokstra_auth.apps (tenant_id, name COLLATE "C");
CREATE INDEX idx_branches_app_code_c ON lokstra_auth.branches (tenant_id, app_id, code COLLATE "C");
CREATE INDEX idx_users_tenant_username_c ON lokstra_auth.users (tenant_id, username COLLATE "C");
CREATE INDEX idx_users_tenant_email_c ON lokstra_auth.users (tenant_id, email COLLATE "C");
CREATE INDEX idx_user_apps_user_app_c ON lokstra_auth.user_apps (tenant_id, user_id, app_id COLLATE "C");
CREATE INDEX idx_user_apps_app_user_c ON lokstra_auth.user_apps (tenant_id, app_id, user_id COLLATE "C");
CREATE INDEX idx_app_keys_app_id_c ON lokstra_auth.app_keys (tenant_id, app_id, id COLLATE "C");
CREATE INDEX idx_app_keys_tenant_id_c ON lokstra_auth.app_keys (tenant_id, id COLLATE "C");
