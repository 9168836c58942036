"""python -m routing [all|api|relay|consumer]"""

from backbone.runtime import main

from .bootstrap import SERVICE
from .config import Settings

main(SERVICE, Settings)
