"""pytest plugin (entry point ``pytest11``): fixtures backed by :class:`LocalIssuer`."""
