"""Scenario data: schema, built-in library, loaders, SOTOPIA import, relationship graph."""
