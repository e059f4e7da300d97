"""The adapters behind the ports, each named for what it wraps; imported lazily (SDKs are slow)."""
