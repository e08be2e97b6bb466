"""roost.keys"""
