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

CHUNK = int(os.environ.get("XF_REBUILD_CHUNK", "5000"))  # events applied per step

if sys.argv[1:] == ["rebuild"]:
    settings = Settings(service="reporting")
    ctx = context(settings)
    for consumer in consumers(ctx):  # the projector first: it empties every read model, alerts included
        empty = reset
        if consumer.name == "warnings":  # its warnings are facts in the store, not decided again
            consumer.projection.rebuilding = True
            empty = lambda conn: conn.execute(RESTORE)  # noqa: E731
        print(json.dumps(rebuild(settings, consumer, ctx.store, chunk=CHUNK, reset=empty), ensure_ascii=False))
else:
    main(SERVICE, Settings)
