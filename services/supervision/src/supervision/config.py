from pydantic import Field, SecretStr

from backbone.settings import SealingSettings


class Settings(SealingSettings):
    """Supervision seals what people write on a case (notes, replies, opinions, feedback) with its own key."""

    warn_days: int = Field(default=3, ge=0, le=60, description="listings: 'due soon' this many days before the last day")
    tick_s: float = Field(default=60.0, gt=0, le=3600, description="how often the ticker looks for what is due")
    peer_seal_keys: dict[str, SecretStr] = Field(
        default_factory=dict, description="intake's and routing's seal keys, e.g. {\"intake\": \"...\"}: opened only to "
        "write statutory documents (petitioner names, summaries, reasons)")
