"""Base data: population, legal entities, buildings and rooms.

Imports, addresses, entity resolution and profiles (one object, one file).
"""
