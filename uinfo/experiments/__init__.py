"""One module per figure family: a function(config) -> tidy records, cached in the store."""
