"""roost.plan"""
