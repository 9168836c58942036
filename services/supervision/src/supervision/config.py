from pathlib import Path

from pydantic import Field

from backbone.settings import BackboneSettings


class Settings(BackboneSettings):
    calendar_path: Path | None = Field(
        default=None, description="group-editable holiday / make-up workday overrides (defaults beside seed_path)"
    )
    warn_days: int = Field(default=3, ge=0, description="a clock is 'due soon' this many days before its last day")

    @property
    def calendar_file(self) -> Path:
        return self.calendar_path or Path(self.seed_path).parent / "calendar.yaml"
