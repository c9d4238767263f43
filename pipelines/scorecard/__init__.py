"""The scorecard: each authority's accepted figures against its improvement board's targets."""
