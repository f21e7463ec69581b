"""gendesign.testing"""
