"""Errors of the reporters. A ValueError, so the module runtime prints `error: ...` for them."""


class ReporterError(ValueError):
    """Base error: bad reporter option, configuration or alert."""


class ConfigError(ReporterError):
    """The YAML rule configuration is invalid (the message names file, item and key)."""


class FilterSyntaxError(ReporterError):
    """A rule condition does not parse (the message shows where)."""
