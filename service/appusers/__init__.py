"""App users: device identities for ODK Collect (Central's "field keys"), their form access and QR codes."""
