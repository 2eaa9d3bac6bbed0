"""explorer: watch why neural-network weight initialization matters."""

__version__ = "0.1.0"
