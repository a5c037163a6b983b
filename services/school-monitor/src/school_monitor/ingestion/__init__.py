"""The one ingestion pipeline of school-monitor, used by every write path that takes in
measurements and ping checks (single pushes and batches, native and Giga Meter) and by the
offline sweep:

    parse (the routers) -> screen (pure, `submission`) -> lock the schools' states
    -> insert the new rows -> derive the deltas (pure, `derive`) -> write them -> commit
    -> acknowledge

Every statement of a request, or of a group commit of single pushes, runs in one
transaction; a failure anywhere rolls all of it back and acknowledges none of it. All of
its SQL is in `writer`, which also fixes the one lock order every transaction follows.
"""
