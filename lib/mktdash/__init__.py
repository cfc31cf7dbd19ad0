"""mktdash: weekly marketing performance and budget optimization over one library."""

__version__ = "0.1.0"
