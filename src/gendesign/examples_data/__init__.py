"""Package data: the built-in default campaign (``default.toml``) run by ``gendesign run`` without a config."""
