"""Social-MAE and CAV-MAE audiovisual masked autoencoders, native to Hugging Face transformers."""

from .configuration_social_mae import SocialMAEConfig

__all__ = ["SocialMAEConfig"]
