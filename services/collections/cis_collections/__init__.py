"""Collections service: what customers owe past due, delinquency, and past-due notice requests."""
