"""Following the money: patrimony and asset recovery (issue 18)."""
