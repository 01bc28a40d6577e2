"""What several features share and none owns: chat wording, file writing, the name
checks, and reading dates and times. It imports no feature."""
