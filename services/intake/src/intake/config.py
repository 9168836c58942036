from pydantic import Field

from backbone.settings import BackboneSettings


class Settings(BackboneSettings):
    petitioner_key: str = Field(description="base64 of a 32-byte AES key sealing petitioner identity")
