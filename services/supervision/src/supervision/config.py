from pydantic import Field

from backbone.settings import BackboneSettings


class Settings(BackboneSettings):
    warn_days: int = Field(default=3, ge=0, le=60, description="a clock is 'due soon' this many days before its last day")
