"""Tests of the clinic example (hexbus.examples.clinic), apart from the library's own."""
