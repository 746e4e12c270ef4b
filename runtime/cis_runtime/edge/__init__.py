"""The nameko edge: the only part of the suite that imports nameko or eventlet.

Service classes are built from these pieces; domain and service layers never see them.
"""
