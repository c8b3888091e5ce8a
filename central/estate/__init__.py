"""The estate registry: sites, buildings, units, residents and their credentials."""
