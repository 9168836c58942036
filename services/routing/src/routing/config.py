from pathlib import Path

from pydantic import Field

from backbone.settings import BackboneSettings


class Settings(BackboneSettings):
    rules_path: Path | None = Field(default=None, description="routing rule table (defaults beside seed_path)")

    @property
    def rules_file(self) -> Path:
        return self.rules_path or Path(self.seed_path).parent / "routing-rules.yaml"
