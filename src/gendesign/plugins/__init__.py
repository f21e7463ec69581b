"""gendesign.plugins"""
