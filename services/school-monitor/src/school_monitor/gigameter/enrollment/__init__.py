"""The Giga Meter agent's enrollment calls: country check, school search, device
registration and its start-up checks, feature flags, and the network look-ups."""
