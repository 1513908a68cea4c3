"""The PostgreSQL backend on asyncpg (schema ``lokstra_auth``)."""
