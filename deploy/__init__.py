"""roost.deploy"""
