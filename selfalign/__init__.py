"""selfalign: a reproducible replication harness for SelfCodeAlign."""
__version__ = "0.1.0"
