"""Dashboard users: passwords, roles, access tokens (JWT) and refresh-token sessions."""
