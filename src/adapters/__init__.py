"""Adapters: implementations of the ports (in-memory, Dramatiq/Redis, HTTP, CLI, ...)."""
