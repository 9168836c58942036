from backbone.settings import BackboneSettings


class Settings(BackboneSettings):
    pass
