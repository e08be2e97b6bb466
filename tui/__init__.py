"""roost.tui"""
