"""The entity browser's edit dialogs: forms, status changes, hard delete, grants, API keys.

Each is a modal screen that gets the stores from ``app.stores`` and writes through
``stores.admin.Admin`` (audited) in a worker; each is dismissed with what it stored (or
None / False when nothing was).
"""
from console.edit.confirm import RevokeAccess, StatusChange
from console.edit.delete import HardDelete
from console.edit.form import EntityForm
from console.edit.grants import GrantAccess
from console.edit.keys import GenerateKey, KeyShownOnce, RevokeKey, RotateKey
from console.edit.report import KeyReportScreen

__all__ = ["EntityForm", "GenerateKey", "GrantAccess", "HardDelete", "KeyReportScreen", "KeyShownOnce",
           "RevokeAccess", "RevokeKey", "RotateKey", "StatusChange"]
