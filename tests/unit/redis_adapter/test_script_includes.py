"""Scripts that share Lua code get it when loaded: Redis runs each script on its own."""

from __future__ import annotations

import re

import attrs

from hexbus.adapters.dramatiq.scripts import Scripts, load_script

INCLUDE_LINE = re.compile(r"^--#include", re.MULTILINE)


def test_a_script_that_includes_a_file_gets_its_text_in_place_of_the_line() -> None:
    shared = load_script("start_message")
    for name in ("start", "fetch"):
        source = load_script(name)
        assert not INCLUDE_LINE.search(source)
        assert shared in source, f"{name}.lua carries start_message.lua whole"
        assert source.index(shared) < source.index("starter(ARGV[")


def test_the_scripts_that_make_keys_from_templates_share_one_filler() -> None:
    shared = load_script("filler")
    for name in ("fetch", "move_due", "queue_stats"):
        source = load_script(name)
        assert source.count("local function filler(") == 1, name
        assert shared in source, name


def test_no_registered_script_is_left_with_an_include_line() -> None:
    for field in attrs.fields(Scripts):
        assert not INCLUDE_LINE.search(load_script(field.name)), field.name
