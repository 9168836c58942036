"""bench/flat_profile.py: py-spy's collapsed stacks summed per function, inclusive and self."""

import importlib.util
from pathlib import Path

spec = importlib.util.spec_from_file_location("flat_profile", Path(__file__).parents[2] / "bench" / "flat_profile.py")
flat = importlib.util.module_from_spec(spec)
spec.loader.exec_module(flat)

RAW = [
    "main (app.py:10);handle (api.py:20);decode (envelope.py:83) 6",
    "main (app.py:10);handle (api.py:21);decode (envelope.py:90) 2",  # another line of the same function
    "main (app.py:10);write (db.py:5) 2",
    "",
]


def test_each_function_counts_its_samples_once_per_stack_inclusive_and_innermost_as_self():
    total, inclusive, own = flat.summary(RAW)
    assert total == 10
    assert inclusive["main app.py"] == 10 and inclusive["handle api.py"] == 8 and inclusive["decode envelope.py"] == 8
    assert own == {"decode envelope.py": 8, "write db.py": 2}


def test_only_keeps_the_stacks_that_pass_through_a_frame():
    total, inclusive, own = flat.summary(RAW, only="write")
    assert total == 2 and own == {"write db.py": 2} and "handle api.py" not in inclusive


def test_a_recursive_function_is_counted_once_per_stack():
    total, inclusive, _ = flat.summary(["f (a.py:1);f (a.py:2);g (a.py:3) 4"])
    assert total == 4 and inclusive["f a.py"] == 4
