"""What is read at the edge: ``feeds.toml`` (with its ``[digest]`` table), environment
settings, secrets and their masking, and the TOML checks that name file, key and line.
"""

from monitor.config.digest import Audience, DigestConfig, parse_digest_config
from monitor.config.feeds import Config, FeedConfig, OpsConfig, load_config, read_config
from monitor.config.secrets import SecretMaskingFilter, mask, mask_url
from monitor.config.settings import Settings
from monitor.config.tomlcheck import load_toml, parse_duration

__all__ = [
    "Audience",
    "Config",
    "DigestConfig",
    "FeedConfig",
    "OpsConfig",
    "SecretMaskingFilter",
    "Settings",
    "load_config",
    "load_toml",
    "mask",
    "mask_url",
    "parse_digest_config",
    "parse_duration",
    "read_config",
]
