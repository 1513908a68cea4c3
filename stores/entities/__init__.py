"""The six stores, written once over an ``Engine`` (memory or PostgreSQL)."""
from stores.entities.app_keys import AppKeys
from stores.entities.apps import Apps
from stores.entities.branches import Branches
from stores.entities.tenants import Tenants
from stores.entities.user_apps import UserApps
from stores.entities.users import Users

__all__ = ["AppKeys", "Apps", "Branches", "Tenants", "UserApps", "Users"]
