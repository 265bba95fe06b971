"""Stacks toolkit: addresses, Clarity values, transactions and the Stacks API client.

Nothing in this package imports the web or database layers.
"""
