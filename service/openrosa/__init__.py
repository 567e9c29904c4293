"""OpenRosa: the wire protocol ODK Collect speaks (form list, manifests, submission HEAD/POST)."""
