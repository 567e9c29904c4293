"""Areas: the province's districts, communes and villages (GSO codes), where each household is, and reach by area."""
