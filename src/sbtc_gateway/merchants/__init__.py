"""Merchants, their settings and their API keys."""
