"""gendesign.objectives"""
