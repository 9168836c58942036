from pydantic import SecretStr, field_validator

from backbone.settings import BackboneSettings


class Settings(BackboneSettings):
    # intake seals petitioner identity and summaries, and derives receipt codes, with its own key
    @field_validator("seal_key")
    @classmethod
    def _required(cls, v: SecretStr | None) -> SecretStr:
        if v is None:
            raise ValueError("intake needs XF_SEAL_KEY (base64 of 32 random bytes)")
        return v
