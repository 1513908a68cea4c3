-- The lokstra-auth schema exactly as lokstra-auth's own db_schema.sql creates it:
-- same tables, columns, types, defaults, constraint and index names, trigger function.
-- A database adopted from db_schema.sql and one created here must have identical
-- catalogs (the adopt command compares them), so do not "improve" anything in this
-- file: later migrations add what the console needs.
SET LOCAL search_path TO lokstra_auth, pg_catalog;

CREATE SCHEMA IF NOT EXISTS lokstra_auth;

CREATE TABLE lokstra_auth.tenants (
    id VARCHAR(255) PRIMARY KEY,
    name VARCHAR(255) NOT NULL,
    domain VARCHAR(255),
    db_dsn TEXT NOT NULL,
    db_schema VARCHAR(255) NOT NULL,
    status VARCHAR(50) NOT NULL DEFAULT 'active',
    config JSONB,
    settings JSONB,
    metadata JSONB,
    created_at TIMESTAMP NOT NULL DEFAULT NOW(),
    updated_at TIMESTAMP NOT NULL DEFAULT NOW(),
    deleted_at TIMESTAMP,
    CONSTRAINT unique_tenant_name UNIQUE (name)
);
CREATE INDEX idx_tenants_status ON lokstra_auth.tenants(status);
CREATE INDEX idx_tenants_domain ON lokstra_auth.tenants(domain) WHERE domain IS NOT NULL;
CREATE INDEX idx_tenants_deleted_at ON lokstra_auth.tenants(deleted_at) WHERE deleted_at IS NOT NULL;

CREATE TABLE lokstra_auth.apps (
    id VARCHAR(255) NOT NULL,
    tenant_id VARCHAR(255) NOT NULL REFERENCES lokstra_auth.tenants(id) ON DELETE CASCADE,
    name VARCHAR(255) NOT NULL,
    type VARCHAR(50) NOT NULL,
    status VARCHAR(50) NOT NULL DEFAULT 'active',
    config JSONB,
    metadata JSONB,
    created_at TIMESTAMP NOT NULL DEFAULT NOW(),
    updated_at TIMESTAMP NOT NULL DEFAULT NOW(),
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT unique_app_name_per_tenant UNIQUE (tenant_id, name)
);
CREATE INDEX idx_apps_tenant_id ON lokstra_auth.apps(tenant_id);
CREATE INDEX idx_apps_type ON lokstra_auth.apps(type);
CREATE INDEX idx_apps_status ON lokstra_auth.apps(status);

CREATE TABLE lokstra_auth.branches (
    id VARCHAR(255) NOT NULL,
    tenant_id VARCHAR(255) NOT NULL,
    app_id VARCHAR(255) NOT NULL,
    code VARCHAR(100) NOT NULL,
    name VARCHAR(255) NOT NULL,
    type VARCHAR(50) NOT NULL,
    status VARCHAR(50) NOT NULL DEFAULT 'active',
    address JSONB,
    contact JSONB,
    settings JSONB,
    metadata JSONB,
    created_at TIMESTAMP NOT NULL DEFAULT NOW(),
    updated_at TIMESTAMP NOT NULL DEFAULT NOW(),
    PRIMARY KEY (tenant_id, app_id, id),
    CONSTRAINT fk_branches_app FOREIGN KEY (tenant_id, app_id)
        REFERENCES lokstra_auth.apps(tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT unique_branch_code_per_app UNIQUE (tenant_id, app_id, code)
);
CREATE INDEX idx_branches_tenant_app ON lokstra_auth.branches(tenant_id, app_id);
CREATE INDEX idx_branches_type ON lokstra_auth.branches(type);
CREATE INDEX idx_branches_status ON lokstra_auth.branches(status);
CREATE INDEX idx_branches_code ON lokstra_auth.branches(code);

CREATE TABLE lokstra_auth.users (
    id VARCHAR(255) NOT NULL,
    tenant_id VARCHAR(255) NOT NULL REFERENCES lokstra_auth.tenants(id) ON DELETE CASCADE,
    username VARCHAR(255) NOT NULL,
    email VARCHAR(255) NOT NULL,
    full_name VARCHAR(255),
    status VARCHAR(50) NOT NULL DEFAULT 'active',
    metadata JSONB,
    created_at TIMESTAMP NOT NULL DEFAULT NOW(),
    updated_at TIMESTAMP NOT NULL DEFAULT NOW(),
    deleted_at TIMESTAMP,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT unique_username_per_tenant UNIQUE (tenant_id, username),
    CONSTRAINT unique_email_per_tenant UNIQUE (tenant_id, email)
);
CREATE INDEX idx_users_tenant_id ON lokstra_auth.users(tenant_id);
CREATE INDEX idx_users_username ON lokstra_auth.users(tenant_id, username);
CREATE INDEX idx_users_email ON lokstra_auth.users(tenant_id, email);
CREATE INDEX idx_users_status ON lokstra_auth.users(status);
CREATE INDEX idx_users_deleted_at ON lokstra_auth.users(deleted_at) WHERE deleted_at IS NOT NULL;

CREATE TABLE lokstra_auth.user_apps (
    tenant_id VARCHAR(255) NOT NULL,
    app_id VARCHAR(255) NOT NULL,
    user_id VARCHAR(255) NOT NULL,
    status VARCHAR(50) NOT NULL DEFAULT 'active',
    granted_at TIMESTAMP NOT NULL DEFAULT NOW(),
    revoked_at TIMESTAMP,
    PRIMARY KEY (tenant_id, app_id, user_id),
    CONSTRAINT fk_user_apps_user FOREIGN KEY (tenant_id, user_id)
        REFERENCES lokstra_auth.users(tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT fk_user_apps_app FOREIGN KEY (tenant_id, app_id)
        REFERENCES lokstra_auth.apps(tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX idx_user_apps_user ON lokstra_auth.user_apps(tenant_id, user_id);
CREATE INDEX idx_user_apps_app ON lokstra_auth.user_apps(tenant_id, app_id);
CREATE INDEX idx_user_apps_status ON lokstra_auth.user_apps(status);

CREATE TABLE lokstra_auth.app_keys (
    id VARCHAR(255) PRIMARY KEY,
    tenant_id VARCHAR(255) NOT NULL,
    app_id VARCHAR(255) NOT NULL,
    key_id VARCHAR(255) NOT NULL,
    prefix VARCHAR(50) NOT NULL,
    secret_hash TEXT NOT NULL,
    key_type VARCHAR(50) NOT NULL,
    environment VARCHAR(50) NOT NULL,
    user_id VARCHAR(255),
    name VARCHAR(255) NOT NULL,
    scopes JSONB,
    metadata JSONB,
    created_at TIMESTAMP NOT NULL DEFAULT NOW(),
    expires_at TIMESTAMP,
    last_used TIMESTAMP,
    revoked BOOLEAN NOT NULL DEFAULT FALSE,
    revoked_at TIMESTAMP,
    CONSTRAINT fk_app_keys_app FOREIGN KEY (tenant_id, app_id)
        REFERENCES lokstra_auth.apps(tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT unique_key_id UNIQUE (key_id)
);
CREATE INDEX idx_app_keys_tenant_app ON lokstra_auth.app_keys(tenant_id, app_id);
CREATE INDEX idx_app_keys_key_id ON lokstra_auth.app_keys(key_id);
CREATE INDEX idx_app_keys_prefix ON lokstra_auth.app_keys(prefix);
CREATE INDEX idx_app_keys_user_id ON lokstra_auth.app_keys(user_id) WHERE user_id IS NOT NULL;
CREATE INDEX idx_app_keys_revoked ON lokstra_auth.app_keys(revoked);
CREATE INDEX idx_app_keys_environment ON lokstra_auth.app_keys(environment);

CREATE FUNCTION lokstra_auth.update_updated_at_column()
RETURNS TRIGGER AS $$
BEGIN
    NEW.updated_at = NOW();
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER update_tenants_updated_at BEFORE UPDATE ON lokstra_auth.tenants
    FOR EACH ROW EXECUTE FUNCTION lokstra_auth.update_updated_at_column();
CREATE TRIGGER update_apps_updated_at BEFORE UPDATE ON lokstra_auth.apps
    FOR EACH ROW EXECUTE FUNCTION lokstra_auth.update_updated_at_column();
CREATE TRIGGER update_branches_updated_at BEFORE UPDATE ON lokstra_auth.branches
    FOR EACH ROW EXECUTE FUNCTION lokstra_auth.update_updated_at_column();
CREATE TRIGGER update_users_updated_at BEFORE UPDATE ON lokstra_auth.users
    FOR EACH ROW EXECUTE FUNCTION lokstra_auth.update_updated_at_column();
