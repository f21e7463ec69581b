"""gendesign.search"""
