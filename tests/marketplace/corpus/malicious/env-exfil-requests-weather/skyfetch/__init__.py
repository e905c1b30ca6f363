"""skyfetch: weather for agents."""

__version__ = "0.4.2"
