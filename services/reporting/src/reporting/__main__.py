"""python -m reporting [all|api|relay|consumer]   |   python -m reporting rebuild"""

import json
import sys

from backbone.rebuild import rebuild
from backbone.runtime import context, main

from .bootstrap import SERVICE, consumers
from .config import Settings
from .store import reset

if sys.argv[1:] == ["rebuild"]:
    settings = Settings(service="reporting")
    ctx = context(settings)
    for consumer in consumers(ctx):  # the projector first: it empties every read model, alerts included
        empty = reset if consumer.name == "projector" else (lambda conn: conn.execute("TRUNCATE warning_window"))
        print(json.dumps(rebuild(settings, consumer, ctx.store, reset=empty), ensure_ascii=False))
else:
    main(SERVICE, Settings)
