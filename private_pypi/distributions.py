"""Wheels and sdists: validate a file, read its core metadata, hash it.

INTERFACE CONTRACT (filled in by the distributions work; do not change the names):

    @dataclass(frozen=True)
    class Distribution:
        path: Path
        filename: str                  # the base name, validated
        project: NormalizedName        # packaging.utils.canonicalize_name of the metadata name
        version: Version
        kind: Literal["wheel", "sdist"]
        size: int
        sha256: str                    # hex digest of the whole file
        requires_python: str | None    # from metadata, validated as a SpecifierSet
        metadata: bytes | None         # wheels: the METADATA bytes, verbatim (PEP 658); sdists: None
        metadata_sha256: str | None    # hex digest of `metadata`

    def inspect(path: Path) -> Distribution
        raises InvalidDistribution(filename, reason) for every bad input.
"""
