"""An independent implementation of the token format in docs/design.md "Tokens", for cross-checking."""
import base64
import hashlib
import hmac
import ipaddress
import struct


def make(secret: bytes, scan_id: int, addr: str, port: int, test: int) -> str:
    ip = ipaddress.ip_address(addr)
    version, taglen = (0x06, 11) if ip.version == 6 else (0x04, 8)
    raw = bytes([version]) + struct.pack(">I", scan_id) + ip.packed + struct.pack(">HB", port, test)
    raw += hmac.new(secret, raw, hashlib.sha256).digest()[:taglen]
    return base64.b32encode(raw).decode().rstrip("=").lower()
