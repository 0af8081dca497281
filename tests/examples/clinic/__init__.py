"""The clinic example's tests: its domain, use cases, handlers, timers and composition."""
