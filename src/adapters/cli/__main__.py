"""``python -m hexbus.adapters.cli``."""

from .main import run

run()
