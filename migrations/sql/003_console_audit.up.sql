-- The console's audit trail: every write the console makes, recorded in the same
-- transaction as the change. It lives in the console's own schema, without foreign keys,
-- so a record outlives the tenant it is about (and lokstra-auth's schema stays as upstream
-- made it). Ids sort chronologically; "C" collation matches the keyset pages' comparisons.
-- Before/after hold an allow-list of fields: never a key hash, a DSN only masked.
CREATE SCHEMA IF NOT EXISTS lokstra_console;

CREATE TABLE lokstra_console.audit_log (
    id          text COLLATE "C" PRIMARY KEY,
    at          timestamp NOT NULL,
    tenant_id   text COLLATE "C" NOT NULL,
    entity      varchar(50) NOT NULL,
    entity_key  text NOT NULL,
    action      varchar(50) NOT NULL,
    os_user     text NOT NULL,
    ssh_client  text,
    db_role     text,
    backend     varchar(20) NOT NULL,
    before      jsonb,
    after       jsonb,
    note        text
);

CREATE INDEX idx_audit_log_tenant_id ON lokstra_console.audit_log (tenant_id, id);
