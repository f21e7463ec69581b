"""Package data: the built-in default campaign (``default.toml``, the antimicrobial-peptide campaign also in ``examples/peptide_amp.toml``) run by ``gendesign run`` without a config."""
