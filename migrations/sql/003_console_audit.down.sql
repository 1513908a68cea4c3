-- Reverting drops the audit trail, which is evidence: refuse while it holds records
-- (export or archive them first, then delete them deliberately).
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM lokstra_console.audit_log) THEN
        RAISE EXCEPTION 'lokstra_console.audit_log holds audit records; archive and delete them before reverting 003';
    END IF;
END $$;
DROP TABLE lokstra_console.audit_log;
-- The schema stays: it also holds the console's migration tracking (lokstra_console.migrations).
