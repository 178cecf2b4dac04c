"""Carbon accounting: factor sets, activity, inventory, targets (issue 10)."""
