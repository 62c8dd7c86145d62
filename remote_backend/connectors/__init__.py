"""Transports between pdns and the protocol: pipe (stdin/stdout), unix socket, relay.

``framing`` holds the line framing all of them share. Nothing is imported here, so a
coprocess loads only the modules it uses.
"""
