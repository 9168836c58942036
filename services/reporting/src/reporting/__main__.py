"""python -m reporting [all|api|relay|consumer]   |   python -m reporting rebuild"""

import json
import os
import sys

from backbone.rebuild import rebuild
from backbone.runtime import context, main

from .bootstrap import SERVICE, consumers
from .config import Settings
from .store import reset
from .warnings import RESTORE

# cases a rebuild holds in memory between chunks (0: read and write each one every chunk); 2,000 gave
# the speed of 20,000 (10,376 and 10,228 events/s at 20,000 cases) in 230 MB instead of 580
HOLD = int(os.environ.get("XF_REBUILD_HOLD", "2000"))
CHUNK = int(os.environ.get("XF_REBUILD_CHUNK", "5000"))  # events applied per step

if sys.argv[1:] == ["rebuild"]:
    settings = Settings(service="reporting")
    ctx = context(settings)
    for consumer in consumers(ctx):  # the projector first: it empties every read model, alerts included
        empty = reset
        if consumer.name == "projector":  # cases held in memory between chunks, each written once
            consumer.projection.hold = HOLD
        if consumer.name == "warnings":  # its warnings are facts in the store, not decided again
            consumer.projection.rebuilding = True
            empty = lambda conn: conn.execute(RESTORE)  # noqa: E731
        print(json.dumps(rebuild(settings, consumer, ctx.store, chunk=CHUNK, reset=empty), ensure_ascii=False))
else:
    main(SERVICE, Settings)
