"""``baton chaos``: many workflows under injected faults, each checked against its expected output."""
