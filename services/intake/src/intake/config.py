from backbone.settings import SealingSettings


class Settings(SealingSettings):
    """Intake seals petitioner identity and summaries, and derives receipt codes, with its own key."""
