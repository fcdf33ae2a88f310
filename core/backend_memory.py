"""Let each PostgreSQL session keep the memory its statements free, instead of faulting it in anew
for every statement.

A PostgreSQL backend allocates through glibc's malloc. A new process returns any free memory above
128 KB at the top of its heap to the kernel (M_TRIM_THRESHOLD), so a statement that needs a few MB
(a 10,000-feature GeoJSON subset sorts 3 MB of rows; a z8 tile a few hundred KB) gets fresh pages
from the kernel each time and pays a page fault for every 4 KB of them: 860 faults and 12% of the
statement's CPU for that subset, 80 faults and 9% for the tile, measured on this project's 2-CPU
machines (README "Performance"). glibc raises both thresholds for the rest of the process when a
block it had mapped on its own is freed (the mmap threshold to the block's size, the trim
threshold to twice that, up to 32 MB). One large allocation freed at once, when the connection is
opened, does that: later statements reuse the heap they grew, and stop faulting.

The price: a session keeps up to twice `megabytes` of freed memory (16 MB by default), once it has
needed that much. Sessions that never run a big statement keep nothing more. A server whose malloc
is not glibc's ignores it (one short allocation per connection, nothing kept).

Duck-typed on a DB-API cursor, so that nothing here imports Django.
"""

from __future__ import annotations

# glibc adjusts its thresholds only for freed blocks of at most 32 MB (DEFAULT_MMAP_THRESHOLD_MAX),
# PostgreSQL's header included.
MAX_MEGABYTES = 31


def keep_freed_memory(cursor, megabytes: int) -> None:
    """Have the session behind `cursor` keep freed memory up to twice `megabytes` (0: leave it as it is).

    `repeat` builds its result in one block of that size, which PostgreSQL frees at the end of the
    statement: glibc then raises the session's thresholds.
    """
    if not 0 <= megabytes <= MAX_MEGABYTES:
        raise ValueError(f"megabytes must be between 0 and {MAX_MEGABYTES}, not {megabytes}")
    if megabytes:
        cursor.execute("SELECT length(repeat(' ', %s))", [megabytes << 20])
