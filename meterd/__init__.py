"""meterd: a metering service implementing the OpenStack Telemetry API v2."""
