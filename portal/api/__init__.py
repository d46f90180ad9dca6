"""The REST API for integrations (`/api/v1/`), built on the same tenancy, role and service modules as the web UI."""
