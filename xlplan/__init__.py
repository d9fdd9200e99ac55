"""xlplan: the reporting cycle of a strategic plan, run through Excel."""

__version__ = "0.1.0"
