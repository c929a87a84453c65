"""Control-plane endpoints, one module per resource: wire in, execute, wire out."""
