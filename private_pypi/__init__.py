"""Publish Python distributions to a PEP 503/691 simple index on S3 or a local directory."""
