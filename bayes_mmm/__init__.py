"""bayes-mmm: hierarchical, weather-aware Bayesian marketing-mix modeling for many tenants."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("bayes-mmm")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0"
