from pydantic import Field

from backbone.settings import BackboneSettings


class Settings(BackboneSettings):
    trace_ui: str | None = Field(default=None, max_length=500, pattern=r"\{trace_id\}",
                                 description="operators' trace link, e.g. http://jaeger:16686/trace/{trace_id}")
