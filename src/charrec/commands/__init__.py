"""Sub-commands of `charrec`, one module per group; each is thin over the library."""
