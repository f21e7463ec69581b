"""gendesign.generators"""
