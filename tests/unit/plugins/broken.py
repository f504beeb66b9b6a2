"""A plugin that fails to import."""

raise ImportError("this plugin needs acme-sdk, which is not installed")
