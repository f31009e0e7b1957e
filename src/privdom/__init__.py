"""privdom: private-domain community operations, planned from the command line."""

__version__ = "0.1.0"
