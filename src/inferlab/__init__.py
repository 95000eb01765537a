"""inferlab: measure, compare and teach the trade-offs of LLM inference."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("inferlab")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0"

__all__ = ["__version__"]
