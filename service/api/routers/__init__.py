"""One thin router per resource; each delegates its Cypher to `service.queries`."""
