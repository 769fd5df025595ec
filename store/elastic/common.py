"""Constants the Elasticsearch repositories share."""

# Stored in each index's _meta; bump it with a migration note when a mapping changes.
SCHEMA_VERSION = 1
