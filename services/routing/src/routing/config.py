from backbone.settings import SealingSettings


class Settings(SealingSettings):
    """Routing seals the free-text reasons of its decisions with its own key."""
