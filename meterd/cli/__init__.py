"""The ``meterd`` command-line client for the Telemetry API v2."""
