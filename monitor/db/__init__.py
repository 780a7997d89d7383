"""Storage: the schema, the engine, migrations, and one module of queries per concern."""
