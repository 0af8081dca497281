"""The Lua scripts of the Redis adapter, loaded from the ``lua/`` folder beside this module.

Each script's header says what its KEYS and ARGV are and why it must be atomic; here they are
only loaded and registered, so redis-py runs them by SHA (EVALSHA) and reloads them after a
server restart.
"""

from __future__ import annotations

import re
from importlib import resources

import attrs
import redis
from redis.commands.core import Script

_INCLUDE = re.compile(r"^--#include (\w+)$", re.MULTILINE)
"""A line that stands for the whole of another file of ``lua/``: Redis runs each script on its
own, so code two scripts share (``start_message.lua``) is put into each when it is loaded."""


def load_script(name: str) -> str:
    """The source of ``lua/{name}.lua``, with the files it includes put in (the async
    publisher registers them on its client)."""
    return _INCLUDE.sub(lambda line: _read(line[1]), _read(name))


def _read(name: str) -> str:
    return resources.files(__package__).joinpath("lua", f"{name}.lua").read_text("utf-8")


@attrs.frozen
class Scripts:
    """The registered scripts for one Redis client."""

    publish: Script
    publish_later: Script
    publish_unrouted: Script
    declare_routes: Script
    prune_routes: Script
    unrouted_stats: Script
    trim_unrouted: Script
    move_due: Script
    defer: Script
    dead_letter: Script
    requeue_dead: Script
    remove_dead: Script
    cancel: Script
    start: Script
    reschedule: Script
    fetch: Script
    reconcile: Script
    recover: Script
    rate_limit: Script
    complete: Script
    record_tick: Script
    ack: Script
    put_back: Script
    report: Script
    queue_stats: Script
    prune_stats: Script

    @classmethod
    def register(cls, client: redis.Redis) -> Scripts:
        """Register every script on ``client`` (no round trip until first use)."""
        return cls(
            **{f.name: client.register_script(load_script(f.name)) for f in attrs.fields(cls)}
        )
