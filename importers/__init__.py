"""Partner data loaders (CSV, JSON lines, FollowTheMoney), demo data, and the API client."""
