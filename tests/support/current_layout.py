"""A database in lokstra-auth's *current* layout, the way its own command builds one.

Our own DDL, written from the facts of upstream's
``cmd/lokstra-auth/migrations/lokstra_auth/001_auth.up.sql`` (primadi/lokstra-auth): its
nineteen tables, their columns, primary and foreign keys (with upstream's ON DELETE rules)
and the checks that matter to a client. Indexes, comments, triggers and functions are left
out: layout recognition reads table and column names, and the refusals under test happen
before any of those would. ``refresh_tokens.id`` defaults to ``gen_random_uuid()`` here
because ``uuidv7()`` exists only from PostgreSQL 18 on.
"""
from __future__ import annotations

import asyncpg

V = "VARCHAR(255)"
TS = "TIMESTAMP NOT NULL DEFAULT now()"

CURRENT_LAYOUT_DDL = f"""
CREATE TABLE tenants (id {V} PRIMARY KEY, name {V} NOT NULL UNIQUE, domain {V}, owner_id {V},
    db_dsn TEXT NOT NULL, db_schema {V} NOT NULL, status VARCHAR(50) NOT NULL DEFAULT 'active',
    config JSONB, settings JSONB, metadata JSONB, created_at {TS}, updated_at {TS}, deleted_at TIMESTAMP);
CREATE TABLE apps (id {V} NOT NULL, tenant_id {V} NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name {V} NOT NULL, type VARCHAR(50) NOT NULL, status VARCHAR(50) NOT NULL DEFAULT 'active',
    config JSONB, metadata JSONB, created_at {TS}, updated_at {TS}, deleted_at TIMESTAMP,
    PRIMARY KEY (tenant_id, id), UNIQUE (tenant_id, name));
CREATE TABLE branches (id {V} NOT NULL, tenant_id {V} NOT NULL, app_id {V} NOT NULL, name {V} NOT NULL,
    type VARCHAR(50) NOT NULL, status VARCHAR(50) NOT NULL DEFAULT 'active', address JSONB, contact JSONB,
    settings JSONB, metadata JSONB, created_at {TS}, updated_at {TS}, deleted_at TIMESTAMP,
    PRIMARY KEY (tenant_id, app_id, id),
    FOREIGN KEY (tenant_id, app_id) REFERENCES apps(tenant_id, id) ON DELETE CASCADE);
CREATE TABLE users (id {V} NOT NULL, tenant_id {V} NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    username {V} NOT NULL, email {V} NOT NULL, email_verified_at TIMESTAMP, phone_number VARCHAR(50),
    phone_verified_at TIMESTAMP, full_name {V}, password_hash TEXT, status VARCHAR(50) NOT NULL DEFAULT 'active',
    is_tenant_owner BOOLEAN NOT NULL DEFAULT false, failed_login_attempts INT NOT NULL DEFAULT 0,
    last_failed_login_at TIMESTAMP, locked_at TIMESTAMP, locked_until TIMESTAMP, lockout_count INT NOT NULL DEFAULT 0,
    metadata JSONB, created_at {TS}, updated_at {TS}, deleted_at TIMESTAMP,
    PRIMARY KEY (tenant_id, id), UNIQUE (tenant_id, username), UNIQUE (tenant_id, email));
CREATE TABLE user_identities (id {V} NOT NULL, user_id {V} NOT NULL, tenant_id {V} NOT NULL,
    provider VARCHAR(50) NOT NULL, provider_id {V} NOT NULL, email {V}, username {V},
    verified BOOLEAN NOT NULL DEFAULT false, metadata JSONB, created_at {TS}, updated_at {TS},
    PRIMARY KEY (tenant_id, user_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id) ON DELETE CASCADE);
CREATE TABLE credential_providers (id {V} NOT NULL, tenant_id {V} NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    app_id {V}, type VARCHAR(50) NOT NULL, name {V} NOT NULL, description TEXT,
    status VARCHAR(50) NOT NULL DEFAULT 'active', config JSONB NOT NULL, metadata JSONB,
    created_at {TS}, updated_at {TS}, PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, app_id) REFERENCES apps(tenant_id, id) ON DELETE CASCADE);
CREATE TABLE user_apps (tenant_id {V} NOT NULL, app_id {V} NOT NULL, user_id {V} NOT NULL,
    status VARCHAR(50) NOT NULL DEFAULT 'active', granted_at {TS}, revoked_at TIMESTAMP,
    PRIMARY KEY (tenant_id, app_id, user_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, app_id) REFERENCES apps(tenant_id, id) ON DELETE CASCADE);
CREATE TABLE app_keys (id {V} PRIMARY KEY, tenant_id {V} NOT NULL, app_id {V} NOT NULL, key_id {V} NOT NULL UNIQUE,
    prefix VARCHAR(50) NOT NULL, secret_hash TEXT NOT NULL, key_type VARCHAR(50) NOT NULL,
    environment VARCHAR(50) NOT NULL, user_id {V}, name {V} NOT NULL, scopes JSONB, metadata JSONB,
    created_at {TS}, expires_at TIMESTAMP, last_used TIMESTAMP, revoked BOOLEAN NOT NULL DEFAULT false,
    revoked_at TIMESTAMP, FOREIGN KEY (tenant_id, app_id) REFERENCES apps(tenant_id, id) ON DELETE CASCADE);
CREATE TABLE roles (id {V} PRIMARY KEY, tenant_id {V} NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    app_id {V} NOT NULL, name {V} NOT NULL, description TEXT, status VARCHAR(50) NOT NULL DEFAULT 'active',
    metadata JSONB, created_at {TS}, updated_at {TS}, deleted_at TIMESTAMP, UNIQUE (tenant_id, app_id, name),
    FOREIGN KEY (tenant_id, app_id) REFERENCES apps(tenant_id, id) ON DELETE CASCADE);
CREATE TABLE user_roles (user_id {V} NOT NULL, tenant_id {V} NOT NULL, app_id {V} NOT NULL,
    role_id {V} NOT NULL REFERENCES roles(id) ON DELETE CASCADE, granted_at {TS}, revoked_at TIMESTAMP,
    PRIMARY KEY (user_id, tenant_id, app_id, role_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id) ON DELETE CASCADE);
CREATE TABLE permissions (id {V} PRIMARY KEY, tenant_id {V} NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    app_id {V} NOT NULL, name {V} NOT NULL, description TEXT, resource {V}, action {V},
    status VARCHAR(50) NOT NULL DEFAULT 'active', metadata JSONB, created_at {TS}, updated_at {TS},
    deleted_at TIMESTAMP, UNIQUE (tenant_id, app_id, name),
    FOREIGN KEY (tenant_id, app_id) REFERENCES apps(tenant_id, id) ON DELETE CASCADE);
CREATE TABLE permission_compositions (
    parent_permission_id {V} NOT NULL REFERENCES permissions(id) ON DELETE CASCADE,
    child_permission_id {V} NOT NULL REFERENCES permissions(id) ON DELETE CASCADE,
    tenant_id {V} NOT NULL REFERENCES tenants(id) ON DELETE CASCADE, app_id {V} NOT NULL,
    is_required BOOLEAN NOT NULL DEFAULT true, priority INT NOT NULL DEFAULT 0, metadata JSONB, created_at {TS},
    PRIMARY KEY (parent_permission_id, child_permission_id),
    FOREIGN KEY (tenant_id, app_id) REFERENCES apps(tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT no_self_reference CHECK (parent_permission_id <> child_permission_id));
CREATE TABLE role_permissions (role_id {V} NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    tenant_id {V} NOT NULL, app_id {V} NOT NULL, permission_id {V} NOT NULL REFERENCES permissions(id) ON DELETE CASCADE,
    granted_at {TS}, revoked_at TIMESTAMP, PRIMARY KEY (role_id, tenant_id, app_id, permission_id));
CREATE TABLE user_permissions (user_id {V} NOT NULL, tenant_id {V} NOT NULL, app_id {V} NOT NULL,
    permission_id {V} NOT NULL REFERENCES permissions(id) ON DELETE CASCADE, granted_at {TS}, revoked_at TIMESTAMP,
    PRIMARY KEY (user_id, tenant_id, app_id, permission_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id) ON DELETE CASCADE);
CREATE TABLE policies (id {V} PRIMARY KEY, tenant_id {V} NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    app_id {V} NOT NULL, name {V} NOT NULL, description TEXT,
    effect VARCHAR(20) NOT NULL CHECK (effect IN ('allow', 'deny')),
    subjects JSONB NOT NULL DEFAULT '[]', resources JSONB NOT NULL DEFAULT '[]', actions JSONB NOT NULL DEFAULT '[]',
    conditions JSONB, status VARCHAR(20) NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive')),
    metadata JSONB, created_at {TS}, updated_at {TS}, UNIQUE (tenant_id, app_id, name),
    FOREIGN KEY (tenant_id, app_id) REFERENCES apps(tenant_id, id) ON DELETE CASCADE);
CREATE TABLE tenant_ownership_history (id {V} PRIMARY KEY,
    tenant_id {V} NOT NULL REFERENCES tenants(id) ON DELETE CASCADE, previous_owner {V} NOT NULL,
    new_owner {V} NOT NULL, transferred_by {V} NOT NULL, transferred_by_tenant {V} NOT NULL, reason TEXT,
    transferred_at {TS},
    FOREIGN KEY (tenant_id, previous_owner) REFERENCES users(tenant_id, id) ON DELETE RESTRICT,
    FOREIGN KEY (tenant_id, new_owner) REFERENCES users(tenant_id, id) ON DELETE RESTRICT,
    FOREIGN KEY (transferred_by_tenant, transferred_by) REFERENCES users(tenant_id, id) ON DELETE RESTRICT);
CREATE TABLE audit_logs (id BIGSERIAL PRIMARY KEY, tenant_id {V} REFERENCES tenants(id) ON DELETE CASCADE,
    app_id {V}, user_id {V}, session_id {V}, action VARCHAR(100) NOT NULL, resource_type VARCHAR(100) NOT NULL,
    resource_id {V}, method VARCHAR(10), path TEXT, status_code INT, request_body JSONB, response_body JSONB,
    ip_address INET, user_agent TEXT, source VARCHAR(50), success BOOLEAN NOT NULL DEFAULT true,
    error_message TEXT, metadata JSONB, created_at {TS},
    FOREIGN KEY (tenant_id, app_id) REFERENCES apps(tenant_id, id) ON DELETE CASCADE);
CREATE TABLE sessions (id {V} PRIMARY KEY, tenant_id {V} NOT NULL, user_id {V} NOT NULL, app_id {V},
    session_token_hash TEXT NOT NULL, ip_address INET, user_agent TEXT, status VARCHAR(50) NOT NULL DEFAULT 'active',
    created_at {TS}, last_activity_at {TS}, expires_at TIMESTAMP NOT NULL, revoked_at TIMESTAMP, metadata JSONB,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, app_id) REFERENCES apps(tenant_id, id) ON DELETE CASCADE);
CREATE TABLE refresh_tokens (id UUID PRIMARY KEY DEFAULT gen_random_uuid(), tenant_id {V} NOT NULL,
    user_id {V} NOT NULL, app_id {V}, session_id {V} REFERENCES sessions(id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL, token_family {V}, rotated_from_id UUID REFERENCES refresh_tokens(id) ON DELETE SET NULL,
    status VARCHAR(50) NOT NULL DEFAULT 'active', created_at {TS}, expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP, revoked_at TIMESTAMP, ip_address INET, user_agent TEXT, metadata JSONB,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, app_id) REFERENCES apps(tenant_id, id) ON DELETE CASCADE);
"""

SAMPLE_ROWS = """
INSERT INTO tenants (id, name, domain, db_dsn, db_schema) VALUES ('acme', 'Acme', '', 'postgres://x', 'acme');
INSERT INTO apps (id, tenant_id, name, type) VALUES ('web', 'acme', 'Web', 'web');
INSERT INTO users (id, tenant_id, username, email, full_name, password_hash)
    VALUES ('u1', 'acme', 'alice', 'alice@example.com', 'Alice', '$2a$10$abcdefghijklmnopqrstuv');
INSERT INTO roles (id, tenant_id, app_id, name) VALUES ('r1', 'acme', 'web', 'admin');
INSERT INTO user_roles (user_id, tenant_id, app_id, role_id) VALUES ('u1', 'acme', 'web', 'r1');
INSERT INTO sessions (id, tenant_id, user_id, session_token_hash, expires_at)
    VALUES ('s1', 'acme', 'u1', 'hash-of-a-session-token', now() + interval '1 day');
"""


async def create_current_layout(dsn: str, schema: str = "lokstra_auth", *, rows: bool = True) -> None:
    """Build the current layout in ``schema`` of ``dsn`` (and a few rows, as upstream's Go writes them)."""
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            await conn.execute(f'SET LOCAL search_path TO "{schema}"')
            await conn.execute(CURRENT_LAYOUT_DDL)
            if rows:
                await conn.execute(SAMPLE_ROWS)
    finally:
        await conn.close()
