"""roost.cli"""
